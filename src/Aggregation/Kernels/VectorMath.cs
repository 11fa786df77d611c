using System.Numerics.Tensors;

namespace Hivemind.Aggregation.Kernels;

/// <summary>Small helpers over whole vectors, in double where sums of many squares would lose bits.</summary>
internal static class VectorMath
{
    public static double Norm(ReadOnlySpan<float> x) => Math.Sqrt(SquaredNorm(x));

    /// <summary>‖x‖² accumulated in double over float-precision chunks of 4096.</summary>
    public static double SquaredNorm(ReadOnlySpan<float> x)
    {
        double total = 0;
        for (int start = 0; start < x.Length; start += 4096)
        {
            ReadOnlySpan<float> chunk = x.Slice(start, Math.Min(4096, x.Length - start));
            total += TensorPrimitives.Dot(chunk, chunk);
        }

        return total;
    }

    /// <summary>‖x − y‖ accumulated like <see cref="SquaredNorm"/>.</summary>
    public static double Distance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double total = 0;
        for (int start = 0; start < x.Length; start += 4096)
        {
            int length = Math.Min(4096, x.Length - start);
            float part = TensorPrimitives.Distance(x.Slice(start, length), y.Slice(start, length));
            total += (double)part * part;
        }

        return Math.Sqrt(total);
    }

    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        double total = 0;
        for (int start = 0; start < x.Length; start += 4096)
        {
            int length = Math.Min(4096, x.Length - start);
            total += TensorPrimitives.Dot(x.Slice(start, length), y.Slice(start, length));
        }

        return total;
    }

    /// <summary>Returns x scaled so that its norm is at most tau (the same buffer when already inside).</summary>
    public static ReadOnlyMemory<float> ClipToNorm(ReadOnlyMemory<float> x, double tau)
    {
        double norm = Norm(x.Span);
        if (norm <= tau)
        {
            return x;
        }

        var clipped = new float[x.Length];
        TensorPrimitives.Multiply(x.Span, (float)(tau / norm), clipped);
        return clipped;
    }
}
