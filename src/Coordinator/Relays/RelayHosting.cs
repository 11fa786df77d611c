using Hivemind.Coordinator.Rounds;

namespace Hivemind.Coordinator.Relays;

/// <summary>Registers the relay registry (issue 17) in a coordinator host.</summary>
public static class RelayHosting
{
    public static IServiceCollection AddRelays(this IServiceCollection services)
    {
        services.AddSingleton(sp => new RelayDirectory(sp.GetRequiredService<CoordinatorEngine>().IsSessionLive));
        services.AddSingleton<RelayProbe>();
        services.AddSingleton(sp => new ChunkManifestBook((version, payload) =>
            sp.GetRequiredService<CoordinatorEngine>().Ledger.SignChunkManifest(version, payload, ChunkManifestBook.ChunkBytes)));
        services.AddSingleton<RelayReports>();
        services.AddSingleton<RelayRegistryService>();
        return services;
    }

    public static WebApplication MapRelays(this WebApplication app)
    {
        app.MapGrpcService<RelayRegistryService>();
        return app;
    }
}
