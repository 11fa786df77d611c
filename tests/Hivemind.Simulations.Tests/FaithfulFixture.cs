using Hivemind.Coordinator;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

/// <summary>Smoke-size faithful configurations: tiny on the real engine, a few rounds of a few volunteers.</summary>
internal static class FaithfulFixture
{
    // A device of 1 GFLOP/s at utilization 1: tiny's unit of 5 × 4 × 32 tokens computes in a known, second-scale time.
    public static readonly DeviceSpec Device = new("test-gflop", "1 GFLOP/s test device", 1e-3, 1e-3, 1, 1.0, "test");

    /// <summary>The engine's own options (its defaults, the draw and probation included) at a smoke-size shape.</summary>
    public static CoordinatorOptions Engine(int volunteers, int rounds) => new()
    {
        Preset = "tiny",
        Seed = 3,
        MaxRounds = rounds,
        Quorum = volunteers,
        SpareLeases = 0,
        InnerSteps = 5,
        BatchSize = 4,
        SequenceLength = 32,
        EvalBatches = 2,
        RoundTimeout = TimeSpan.FromHours(1),
        LeaseDuration = TimeSpan.FromMinutes(30),
        // Spot checks (on by default) off: these tests measure round rules, timing and data; each check would add a recomputation
        // to a seconds-long test. VerificationScenarioTests runs them.
        SpotCheckProbability = 0,
        SpotCheckProbationProbability = 0,
    };

    public static FaithfulConfig Tiny(int volunteers = 4, int rounds = 3) => new()
    {
        Engine = Engine(volunteers, rounds),
        Volunteers = volunteers,
        DeviceMix = [(Device, 1.0)],
        DownloadMbps = Distribution.Constant(100),
        UploadMbps = Distribution.Constant(100),
        LatencyMs = Distribution.Constant(50),
        SessionHours = null,
        CoordinatorDevice = Device,
    };
}
