using Microsoft.Extensions.Configuration.Memory;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// The coordinator's log defaults: one timestamped line per meaningful event (joins, bans, expiries, round closes),
/// not ASP.NET Core's four Information lines per gRPC call. They sit below every other configuration source, so
/// <c>Logging__LogLevel__Microsoft.AspNetCore=Information</c> (or appsettings.json) still turns request logging back on.
/// </summary>
public static class LoggingDefaults
{
    public static IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["Logging:LogLevel:Default"] = "Information",
        // Request start/finish, endpoint executing/executed: four lines per call at Information.
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Grpc"] = "Warning",
        // Environment and content root; the coordinator's own line says where it listens.
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss ",
    };

    /// <summary>Adds the defaults as the lowest-precedence configuration source.</summary>
    public static void Apply(IConfigurationBuilder configuration) =>
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = Settings });
}
