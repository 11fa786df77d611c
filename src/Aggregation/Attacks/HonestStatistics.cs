using System.Numerics.Tensors;
using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Attacks;

/// <summary>Coordinate-wise mean and standard deviation of the honest updates, which most attacks start from.</summary>
internal static class HonestStatistics
{
    /// <summary>
    /// Checks the honest updates and f, and returns the update length. f·d must fit one array (the
    /// crafted stack is written as one) and n = honest + f must fit an int: f near int.MaxValue is an
    /// error naming f, not an out-of-memory crash or a wrapped n.
    /// </summary>
    public static int Length(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, string attack)
    {
        if (f < 0)
        {
            throw new ArgumentException($"{attack}: f={f} Byzantine updates; f must be >= 0.");
        }

        if (honest.Count == 0)
        {
            throw new ArgumentException($"{attack}: needs at least one honest update to craft from, got none.");
        }

        int d = honest[0].Length;
        for (int i = 1; i < honest.Count; i++)
        {
            if (honest[i].Length != d)
            {
                throw new ArgumentException($"{attack}: honest update {i} has length {honest[i].Length}, update 0 has {d}; all must be equal.");
            }
        }

        long total = (long)f * d;
        if (total > Array.MaxLength || (long)honest.Count + f > int.MaxValue)
        {
            throw new ArgumentException(
                $"{attack}: f={f} Byzantine updates of length {d} is {total} floats, more than one array holds ({Array.MaxLength}); lower f to at most {MaxF(d, honest.Count)}.");
        }

        return d;
    }

    private static long MaxF(int d, int honestCount) => Math.Min(d == 0 ? int.MaxValue : Array.MaxLength / d, int.MaxValue - (long)honestCount);

    public static float[] Mean(IReadOnlyList<ReadOnlyMemory<float>> honest) => WeightedSum.Mean(honest);

    /// <summary>Sample standard deviation per coordinate (population when there is one update).</summary>
    public static float[] StandardDeviation(IReadOnlyList<ReadOnlyMemory<float>> honest, float[] mean)
    {
        int d = mean.Length;
        var variance = new float[d];
        float scale = 1f / Math.Max(1, honest.Count - 1);
        const int chunk = 4096;
        Parallel.For(0, (d + chunk - 1) / chunk, AggregationParallelism.Current, c =>
        {
            int start = c * chunk;
            int length = Math.Min(d, start + chunk) - start;
            Span<float> diff = stackalloc float[length];
            Span<float> output = variance.AsSpan(start, length);
            foreach (ReadOnlyMemory<float> h in honest)
            {
                TensorPrimitives.Subtract(h.Span.Slice(start, length), mean.AsSpan(start, length), diff);
                TensorPrimitives.MultiplyAdd(diff, diff, output, output);
            }

            TensorPrimitives.Multiply(output, scale, output);
            TensorPrimitives.Sqrt(output, output);
        });
        return variance;
    }

    public static float[][] Repeat(float[] vector, int f)
    {
        var result = new float[f][];
        for (int k = 0; k < f; k++)
        {
            result[k] = k == 0 ? vector : (float[])vector.Clone();
        }

        return result;
    }
}
