using System.Diagnostics;
using Xunit.Abstractions;

namespace Hivemind.Data.Tests;

/// <summary>
/// Generates a large slice twice: the bytes must be identical (work units are re-runnable), and the throughput is
/// printed. Speed itself is a benchmark's job (docs/benchmarks/data.md): an absolute floor here failed on a loaded machine.
/// </summary>
public sealed class ThroughputTests(ITestOutputHelper output)
{
    private const int Bytes = 8 << 20;

    [Fact]
    public void GenerationIsDeterministicAtScaleAndReportsItsThroughput()
    {
        var corpus = new SyntheticCorpus(new SyntheticCorpusConfig(Seed: 42));
        var first = new byte[Bytes];
        var second = new byte[Bytes];

        var watch = Stopwatch.StartNew();
        corpus.Generate(1, 1, first);
        double mibPerSecond = Bytes / (1024.0 * 1024) / watch.Elapsed.TotalSeconds;
        new SyntheticCorpus(new SyntheticCorpusConfig(Seed: 42)).Generate(1, 1, second);

        output.WriteLine($"SyntheticCorpus.Generate: {mibPerSecond:F0} MiB/s on one thread (informational)");
        Assert.True(first.AsSpan().SequenceEqual(second), "two corpora with the same seed generated different bytes for the same slice");
        Assert.Contains(first, b => b != first[0]);
    }
}
