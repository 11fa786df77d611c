using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// Norms, distances and dot products of whole vectors, accumulated in double from exact float-to-double
/// widening: a float square overflows above ~1.8e19 (and ∞ − ∞ is NaN downstream), and a double
/// product of two floats is exact, so these cannot overflow or lose the small terms. They stream
/// memory once, so the wider arithmetic costs little.
/// </summary>
internal static class VectorMath
{
    public static double Norm(ReadOnlySpan<float> x) => Math.Sqrt(SquaredNorm(x));

    public static double SquaredNorm(ReadOnlySpan<float> x) => Dot(x, x);

    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int lanes = Vector256<float>.Count;
        Vector256<double> low = Vector256<double>.Zero, high = Vector256<double>.Zero;
        int j = 0;
        for (; j + lanes <= x.Length; j += lanes)
        {
            (Vector256<double> xl, Vector256<double> xh) = Vector256.Widen(Vector256.LoadUnsafe(ref xs, (nuint)j));
            (Vector256<double> yl, Vector256<double> yh) = Vector256.Widen(Vector256.LoadUnsafe(ref ys, (nuint)j));
            low = Vector256.FusedMultiplyAdd(xl, yl, low);
            high = Vector256.FusedMultiplyAdd(xh, yh, high);
        }

        double total = Vector256.Sum(low + high);
        for (; j < x.Length; j++)
        {
            total += (double)x[j] * y[j];
        }

        return total;
    }

    /// <summary>‖x − y‖, the difference taken in double (float x − y overflows for opposite signs near float.MaxValue).</summary>
    public static double Distance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int lanes = Vector256<float>.Count;
        Vector256<double> low = Vector256<double>.Zero, high = Vector256<double>.Zero;
        int j = 0;
        for (; j + lanes <= x.Length; j += lanes)
        {
            (Vector256<double> xl, Vector256<double> xh) = Vector256.Widen(Vector256.LoadUnsafe(ref xs, (nuint)j));
            (Vector256<double> yl, Vector256<double> yh) = Vector256.Widen(Vector256.LoadUnsafe(ref ys, (nuint)j));
            Vector256<double> dl = xl - yl;
            Vector256<double> dh = xh - yh;
            low = Vector256.FusedMultiplyAdd(dl, dl, low);
            high = Vector256.FusedMultiplyAdd(dh, dh, high);
        }

        double total = Vector256.Sum(low + high);
        for (; j < x.Length; j++)
        {
            double difference = (double)x[j] - y[j];
            total += difference * difference;
        }

        return Math.Sqrt(total);
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
        double factor = tau / norm;
        if (float.IsNormal((float)factor))
        {
            TensorPrimitives.Multiply(x.Span, (float)factor, clipped);
            return clipped;
        }

        // A factor below float's normal range (a tiny tau against a huge row) keeps too few bits as a float.
        ReadOnlySpan<float> source = x.Span;
        for (int j = 0; j < clipped.Length; j++)
        {
            clipped[j] = (float)(source[j] * factor);
        }

        return clipped;
    }
}
