using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Adversarial.Tests;

/// <summary>A loopback coordinator on a fake clock (tiny model, quorum 3) and an attacker client: the setting of every test here.</summary>
internal static class Crowd
{
    public static readonly DateTimeOffset Start = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    public static async Task<(LoopbackCoordinator Coordinator, Attacker Attacker, FakeTimeProvider Time)> StartAsync(Func<CoordinatorOptions, CoordinatorOptions>? configure = null)
    {
        var time = new FakeTimeProvider(Start);
        var c = await LoopbackCoordinator.StartAsync(d => (configure ?? (o => o))(EngineHarness.TinyOptions(d) with { Quorum = 3 }), time);
        return (c, new Attacker(c), time);
    }
}
