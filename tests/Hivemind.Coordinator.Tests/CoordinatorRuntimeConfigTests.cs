using System.Text.Json;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The runtime settings the coordinator executable ships with (build/CoordinatorGc.props, issue 9's lease tail): read from the
/// runtimeconfig.json the build writes beside <c>Hivemind.Coordinator.dll</c>, which is what `serve` starts with.
/// </summary>
public sealed class CoordinatorRuntimeConfigTests
{
    private static JsonElement ConfigProperties()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator.runtimeconfig.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }

    [Fact]
    public void TheCoordinatorRunsWorkstationConcurrentGcWithoutServerGcThreads()
    {
        // Server GC's per-core threads spin while they wait; in `load` runs they and the finalizer took both cores for seconds
        // while the pool's threads, runnable, answered nothing (docs/benchmarks/coordinator.md, Session 8).
        var properties = ConfigProperties();
        Assert.False(properties.GetProperty("System.GC.Server").GetBoolean());
        Assert.True(properties.GetProperty("System.GC.Concurrent").GetBoolean());
    }

    [Fact]
    public void TheCoordinatorTiersUpWithoutDynamicPgo()
    {
        // One recompilation per hot method instead of two: the tier-up thread's start-up burst is what leases waited behind.
        Assert.False(ConfigProperties().GetProperty("System.Runtime.TieredPGO").GetBoolean());
    }

    [Fact]
    public void TheSubmitPathGcSettingsStay()
    {
        // The settings this file already carried (session 7's submit path): 1 MiB gRPC chunks stay off the large-object heap.
        var properties = ConfigProperties();
        Assert.Equal(3145728, properties.GetProperty("System.GC.LOHThreshold").GetInt32());
        Assert.True(properties.GetProperty("System.GC.RetainVM").GetBoolean());
    }
}
