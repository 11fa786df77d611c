using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Identity;

namespace Hivemind.Coordinator.Tests;

/// <summary>The run id is drawn once per data directory, survives restarts, and names every work unit.</summary>
public sealed class RunIdTests
{
    [Fact]
    public void TheRunIdSurvivesARestartAndDiffersBetweenDataDirectories()
    {
        using var h = new EngineHarness();
        using var other = new EngineHarness();
        byte[] first = h.Engine.RunId;
        Assert.Equal(RunId.Bytes, first.Length);
        Assert.NotEqual(first, other.Engine.RunId);

        h.Restart();

        Assert.Equal(first, h.Engine.RunId);
        Assert.Equal(first, h.Join().Lease().RunId);
    }
}
