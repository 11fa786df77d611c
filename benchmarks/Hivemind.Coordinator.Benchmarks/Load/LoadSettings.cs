namespace Hivemind.Coordinator.Benchmarks.Load;

/// <summary>What the load test runs: how many simulated volunteers, for how long, and the coordinator's round cadence.</summary>
internal sealed record LoadSettings
{
    public int Volunteers { get; init; } = 1000;

    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>Joins are spread evenly over this window, as volunteers arrive in a real crowd.</summary>
    public TimeSpan Ramp { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Updates per round; with a pool far larger than the quorum most volunteers are polling at any moment.</summary>
    public int Quorum { get; init; } = 50;

    /// <summary>Simulated training time per unit (heartbeats run during it).</summary>
    public TimeSpan WorkTime { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>The coordinator's --heartbeat-interval: short, so heartbeats are a real share of the traffic.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the coordinator's RSS is read.</summary>
    public TimeSpan RssEvery { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Memory each volunteer declares: every expert of `tiny`.</summary>
    public long DeclaredMemory { get; init; } = 2L << 30;

    public string AdmissionToken { get; init; } = "load-test";

    /// <summary>The coordinator's flags: `tiny`, one inner step, no evaluation, robust rules, closed admission, no spot checks.</summary>
    public string[] ServeArguments(string dataDirectory) =>
    [
        "serve", "--port", "0", "--data-directory", dataDirectory, "--preset", "tiny",
        "--quorum", Inv(Quorum), "--spare-leases", "0", "--min-updates", "1",
        "--inner-steps", "1", "--batch-size", "1", "--sequence-length", "8", "--eval-batches", "0",
        "--round-timeout", "60", "--lease-duration", "120", "--heartbeat-interval", Inv(HeartbeatInterval.TotalSeconds),
        "--joins-per-minute", Inv(Math.Max(Volunteers * 60, 120)),
        "--trunk-rule", "median", "--expert-rule", "median", "--admission-token", AdmissionToken,
        // The simulated volunteers send small random updates, not trained ones: a spot check would (rightly) ban every one it drew.
        "--spot-check-probability", "0", "--spot-check-probation-probability", "0",
    ];

    private static string Inv(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
