using System.Security.Cryptography;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 3: a round close commits model, version, checkpoint and ledger together or not at all; a retry applies each update once.</summary>
public sealed class RoundCloseTests
{
    [Fact]
    public void AFailedCheckpointChangesNothingAndTheRetryAppliesEachUpdateOnce()
    {
        using var reference = new EngineHarness(o => o with { Quorum = 2 });
        foreach (var v in new[] { reference.Join(), reference.Join() }) v.Work();
        Assert.NotNull(reference.Engine.Tick());

        using var h = new EngineHarness(o => o with { Quorum = 2 });
        foreach (var v in new[] { h.Join(), h.Join() }) v.Work();
        string modelBefore = Hash(h);
        // A directory where the next checkpoint must go: the write fails as a full or broken disk would.
        string obstacle = Path.Combine(h.Options.DataDirectory, "checkpoints", "v000001.safetensors");
        Directory.CreateDirectory(obstacle);
        Assert.ThrowsAny<Exception>(() => h.Engine.Tick());
        Assert.Equal(0, h.Engine.Round);
        Assert.Equal(modelBefore, Hash(h));
        Assert.Single(h.Engine.Store.Rounds());
        Assert.Equal(2, h.Engine.Status().AcceptedThisRound);

        Directory.Delete(obstacle);
        var summary = h.Engine.Tick();
        Assert.NotNull(summary);
        Assert.Equal(0, summary!.Round);
        Assert.Equal(2, summary.Updates);
        Assert.Equal(1, h.Engine.Round);
        Assert.Equal(Hash(reference), Hash(h)); // the same model as a close that never failed: applied exactly once
        Assert.Null(h.Engine.Tick()); // and nothing left to close again
    }

    private static string Hash(EngineHarness h)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in h.Engine.GlobalParameters()) sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Values.AsSpan()));
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
