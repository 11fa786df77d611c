namespace Hivemind.Training.Benchmarks;

/// <summary>One contender in an interleaved comparison: runs one timed unit of work per call.</summary>
internal interface IBenchmarkSide : IDisposable
{
    string Name { get; }

    /// <summary>Runs one step and returns its wall time in seconds.</summary>
    double Step();
}
