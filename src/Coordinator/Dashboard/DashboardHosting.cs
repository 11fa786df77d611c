using Hivemind.Coordinator.Metrics;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Services;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>Adds the dashboard, its snapshot publisher and the Prometheus metrics to the coordinator's host (one call in <c>CoordinatorHost.Build</c>).</summary>
public static class DashboardHosting
{
    public static void AddDashboard(this WebApplicationBuilder builder, CoordinatorEngine engine, DashboardSettings settings)
    {
        settings.Validate();
        var services = builder.Services;
        services.AddSingleton(settings);
        services.AddSingleton(sp => new LiveActivity(engine, settings.Time));
        services.AddSingleton(sp => new DashboardReadModel(DashboardFacts.From(engine), settings.Time, sp.GetRequiredService<LiveActivity>()));
        services.AddSingleton(sp => new SnapshotPublisher(
            sp.GetRequiredService<DashboardReadModel>(), sp.GetRequiredService<LiveActivity>(), settings,
            () => (sp.GetRequiredService<CoordinatorService>().BytesReceived, engine.BytesSent),
            sp.GetRequiredService<ILogger<SnapshotPublisher>>()));
        services.AddSingleton(sp => new CoordinatorMetrics(engine, sp.GetRequiredService<SnapshotPublisher>(), () => sp.GetRequiredService<CoordinatorService>().BytesReceived));
        services.AddSingleton<IStartupFilter, SubmitTimingStartupFilter>();
        services.AddSingleton<DashboardServer>();
        services.AddHostedService(sp => sp.GetRequiredService<SnapshotPublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<DashboardServer>());
    }

    /// <summary>The dashboard's address, or null when the host was built without one.</summary>
    public static string? DashboardAddress(this WebApplication app) => app.Services.GetService<DashboardServer>()?.Address;
}
