using Hivemind.Coordinator.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Hivemind.Coordinator.Tests;

/// <summary>Sparse low-bit updates up and step downloads over real gRPC (issue 16).</summary>
public sealed class SparseCodecTrainingTests(ITestOutputHelper output)
{
    private const int Rounds = 6;

    /// <summary>Upper bound on the loopback run; it takes about 20 s with a load average of 21 on 2 cores.</summary>
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task StepDownloadsReproduceTheCoordinatorsParametersBitForBitAndTrainingLearns()
    {
        await using var c = await LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with
        {
            MaxRounds = Rounds,
            Quorum = 3,
            Codec = "topk4",
            CodecDensity = 0.03,
            DownloadCodec = "topk4",
            DownloadDensity = 0.03,
        });
        double initial = c.Engine.EvaluateCurrent();
        var volunteers = Enumerable.Range(0, 3).Select(i => c.Volunteer(name: $"s{i}")).ToList();
        await c.TrainToTheEndAsync(volunteers.Select(v => v.Client), RunTimeout);

        var transfers = volunteers.SelectMany(v => v.View.Transfers).ToList();
        foreach (var t in transfers) output.WriteLine($"{t.What}: {t.Bytes} bytes");
        var errors = volunteers.SelectMany(v => v.View.Errors).ToList();
        // A volunteer checks the parameters it computed from steps against the unit's SHA-256 of the coordinator's parameters and
        // reports any difference as an error: none means every step download was bit-identical.
        Assert.Empty(errors);
        Assert.Equal(3 * Rounds, c.Engine.Store.LedgerCount());
        var steps = transfers.Where(t => t.What.Contains("steps", StringComparison.Ordinal)).ToList();
        var full = transfers.Where(t => t.What is "download" or "download (compressed)").ToList();
        Assert.NotEmpty(steps);
        Assert.True(steps.Max(t => t.Bytes) * 4 < full.Min(t => t.Bytes), $"a step download ({steps.Max(t => t.Bytes)} bytes) should be far smaller than a full one ({full.Min(t => t.Bytes)})");
        var uploads = transfers.Where(t => t.What == "upload").ToList();
        Assert.True(uploads.Max(t => t.Bytes) * 4 < full.Min(t => t.Bytes), "sparse uploads should be far smaller than the fp32 shard");
        double final = c.Rounds[^1].EvalLoss!.Value;
        output.WriteLine($"held-out loss {initial:0.000} → {final:0.000}");
        Assert.True(final < initial - 0.5, $"loss fell only from {initial:0.000} to {final:0.000}");
    }
}
