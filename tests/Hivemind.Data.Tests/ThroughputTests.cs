using System.Diagnostics;
using Xunit.Abstractions;

namespace Hivemind.Data.Tests;

/// <summary>Measures generation and reading speed; the floors only catch an order-of-magnitude regression.</summary>
public sealed class ThroughputTests(ITestOutputHelper output)
{
#if DEBUG
    // Unoptimised JIT: measured 7 MiB/s with other builds loading the 2 cores (load average 11).
    private const int Bytes = 8 << 20;
    private const double MinMiBPerSecond = 1;
#else
    // Measured 101-129 MiB/s on the 2-core dev machine under load (docs/benchmarks/data.md).
    private const int Bytes = 32 << 20;
    private const double MinMiBPerSecond = 10;
#endif

    [Fact]
    public void GenerationThroughput()
    {
        var corpus = new SyntheticCorpus(new SyntheticCorpusConfig(Seed: 42));
        var buffer = new byte[Bytes];
        corpus.Generate(0, 0, buffer.AsSpan(0, 1 << 20));

        var watch = Stopwatch.StartNew();
        corpus.Generate(1, 1, buffer);
        double mibPerSecond = Bytes / (1024.0 * 1024) / watch.Elapsed.TotalSeconds;

        output.WriteLine($"SyntheticCorpus.Generate: {mibPerSecond:F0} MiB/s on one thread");
        Assert.True(mibPerSecond > MinMiBPerSecond, $"generation ran at {mibPerSecond:F1} MiB/s, below the {MinMiBPerSecond} MiB/s floor");
    }
}
