namespace Hivemind.PortMapping.Tests;

/// <summary>Bounds on how long a test waits for a signal that should come at once; only reached when the code under test is broken.</summary>
internal static class TestLimits
{
    public static readonly TimeSpan Signal = TimeSpan.FromSeconds(30);
}
