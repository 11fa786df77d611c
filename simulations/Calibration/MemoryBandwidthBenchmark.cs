using System.Diagnostics;
using System.Numerics;

namespace Hivemind.Simulations.Calibration;

/// <summary>Measures memory bandwidth with a STREAM-style triad (a = b + s·c) over all cores.</summary>
public static class MemoryBandwidthBenchmark
{
    // A triad reads two floats and writes one per element.
    private const int BytesPerElement = 3 * sizeof(float);
    private const double BytesPerGigabyte = 1e9;
    private const float Scale = 3;

    /// <summary>Best GB/s over repetitions lasting about <paramref name="budget"/>, arrays of <paramref name="elements"/> floats (far larger than cache).</summary>
    public static double MeasureGigabytesPerSecond(int elements, TimeSpan budget)
    {
        int lanes = Vector<float>.Count;
        if (elements % lanes != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(elements), elements, $"must be a multiple of {lanes}");
        }

        float[] a = new float[elements], b = new float[elements], c = new float[elements];
        Array.Fill(b, 1f);
        Array.Fill(c, 2f);
        int parts = Environment.ProcessorCount;
        int chunk = elements / lanes / parts * lanes;
        double best = 0;
        var scale = new Vector<float>(Scale);
        var total = Stopwatch.StartNew();
        for (int rep = 0; rep == 0 || total.Elapsed < budget; rep++)
        {
            var watch = Stopwatch.StartNew();
            Parallel.For(0, parts, p =>
            {
                int start = p * chunk, end = p == parts - 1 ? elements : start + chunk;
                for (int i = start; i < end; i += lanes)
                {
                    (new Vector<float>(b, i) + scale * new Vector<float>(c, i)).CopyTo(a, i);
                }
            });
            best = Math.Max(best, (double)elements * BytesPerElement / watch.Elapsed.TotalSeconds / BytesPerGigabyte);
        }

        return best;
    }
}
