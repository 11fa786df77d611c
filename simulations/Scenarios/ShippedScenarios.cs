namespace Hivemind.Simulations.Scenarios;

/// <summary>The scenarios shipped inside the simulator, one or two per doubt.</summary>
public static class ShippedScenarios
{
    /// <summary>All shipped scenarios, in the order of the doubts.</summary>
    public static IReadOnlyList<ShippedScenario> All { get; } =
    [
        new("moe-vs-dense", "1: MoE underperforms",
            "centralized dense vs centralized MoE vs sharded-DiLoCo MoE at equal tokens, as gap to the optimum; sensitivity to H and to late (stale) updates (faithful mode)", "scenarios/moe-vs-dense.json"),
        new("overhead", "2: overhead",
            "utilization and bytes per token against link speed 10/100/1000 Mb/s, H 1/10/100, codec fp32/fp16/int8 (scale mode)", "scenarios/overhead.json"),
        new("pool", "2: pool size",
            "tokens/s of pools up to 10,000 volunteers; how many RTX 3090 / A100 volunteers match a TPU v3-256 or 64×A100 (scale mode)", "scenarios/pool.json"),
        new("attack-matrix", "3: attacks",
            "attacks × aggregators × Byzantine fraction 0/0.1/0.2/0.3, final loss vs no attack, aggregation time, replication (faithful mode)", "scenarios/attack-matrix.json"),
        new("verification", "3: attacks (verified work)",
            "cheaters whose updates pass the robust aggregator vs spot checks at p 0/0.05/0.25: cheats caught, rounds to ban them, honest keys flagged, recomputation share (faithful mode)", "scenarios/verification.json"),
    ];

    /// <summary>The shipped scenario called <paramref name="name"/>, or null.</summary>
    public static ShippedScenario? Find(string name) =>
        All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>The JSON text of a runnable shipped scenario.</summary>
    public static string Text(ShippedScenario scenario)
    {
        if (scenario.ResourceName is not { } resource)
        {
            throw new ScenarioException($"scenario {scenario.Name} has no embedded JSON; the build should embed simulations/scenarios/{scenario.Name}.json");
        }

        using var stream = typeof(ShippedScenarios).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"embedded scenario {resource} is missing from the build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
