namespace Hivemind.Coordinator.Reachability;

/// <summary>Registers the reachability self-test in a coordinator host (one line each in the host builder).</summary>
public static class ReachabilityHosting
{
    public static IServiceCollection AddReachability(this IServiceCollection services, ReachabilityOptions? options = null)
    {
        services.AddSingleton(options ?? ReachabilityOptions.Default);
        services.AddSingleton<ITcpDialer, TcpDialer>();
        services.AddSingleton(sp => new ReachabilityChecker(
            sp.GetRequiredService<ReachabilityOptions>(), sp.GetRequiredService<ITcpDialer>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        services.AddSingleton<ReachabilityService>();
        return services;
    }

    public static WebApplication MapReachability(this WebApplication app)
    {
        app.MapGrpcService<ReachabilityService>();
        return app;
    }
}
