namespace Hivemind.Simulations.Scenarios;

/// <summary>What a faithful scenario runs on the real engine.</summary>
public enum FaithfulExperiment
{
    /// <summary>One run of the configuration as written.</summary>
    Run,

    /// <summary>Centralized dense and MoE baselines against sharded DiLoCo at equal tokens, with H and quorum (stale update) sweeps.</summary>
    MoeVsDense,

    /// <summary>Attacks × aggregator specs × Byzantine fractions, each against the same spec without attack.</summary>
    AttackMatrix,

    /// <summary>Cheating volunteers × spot-check probabilities (issue 12): cheats caught, rounds to ban them all, honest keys flagged, recomputation share.</summary>
    Verification,

    /// <summary>Synchronous rounds against eager (one-step-delayed) units (issue 16): utilization and held-out loss after the same rounds.</summary>
    Eager,
}
