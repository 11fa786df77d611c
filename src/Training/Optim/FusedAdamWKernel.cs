using System.Numerics;
using System.Runtime.CompilerServices;

namespace Hivemind.Training;

/// <summary>
/// AdamW's step and the gradient's sum of squares over flat float32 CPU buffers, each in one pass: the step reads every
/// parameter, gradient and moment once and writes the parameter and both moments once, where the same math as libtorch ops
/// (<see cref="FlatAdamW"/>'s other path) makes about eight passes with temporaries. TorchSharp 0.107 binds neither
/// libtorch's <c>_fused_adamw_</c> nor its <c>_foreach_</c> ops, so this is C#.
/// </summary>
/// <remarks>
/// The buffers are split into fixed chunks of <see cref="ChunkFloats"/> floats (chunk boundaries are multiples of the vector
/// width, so only the buffer's last few floats take the scalar path, which computes the same expression). Chunks are spread
/// over the intra-op thread count with <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>; the sum of squares
/// keeps one partial per chunk (in double) and adds them in chunk order, so its result does not depend on the thread count
/// or on scheduling. One instance per optimizer; not for concurrent use (an optimizer steps on one thread). The delegates
/// and the partials array are made once, so a step allocates only what <c>Parallel.For</c> itself does.
/// </remarks>
internal sealed unsafe class FusedAdamWKernel
{
    /// <summary>Floats per work item: 128 KB per buffer, four buffers fit a core's L2; ~300 items for `small`'s 9.65M floats.</summary>
    internal const int ChunkFloats = 1 << 15;

    private readonly long _count;
    private readonly int _chunks;
    private readonly double[] _partials;
    private readonly ParallelOptions _options = new();
    private readonly Action<int> _sumBody;
    private readonly Action<int> _stepBody;

    // The current call's buffers and constants, read by the cached delegates (pointers cannot be captured).
    private nint _p, _g, _m, _v;
    private StepConstants _constants;

    public FusedAdamWKernel(long count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _count = count;
        _chunks = checked((int)((count + ChunkFloats - 1) / ChunkFloats));
        _partials = new double[_chunks];
        _sumBody = SumChunk;
        _stepBody = StepChunk;
    }

    /// <summary>The per-step numbers of AdamW, folded as in <see cref="FlatAdamW"/>: see <see cref="FlatAdamW.Step"/>.</summary>
    /// <param name="GradScale">multiplies the gradient as it is read (the clipping coefficient, or 1).</param>
    /// <param name="Decay">1 − lr·weight decay: the decoupled weight decay, applied to the parameter first.</param>
    /// <param name="Beta1Complement">1 − β1: the first moment's <c>lerp</c> weight.</param>
    /// <param name="Beta2">β2.</param>
    /// <param name="Beta2Complement">1 − β2.</param>
    /// <param name="Epsilon">ε·√(1 − β2^t): ε moved inside the bias correction of the second moment.</param>
    /// <param name="NegativeStepSize">−lr·√(1 − β2^t) / (1 − β1^t): both bias corrections.</param>
    internal readonly record struct StepConstants(
        float GradScale, float Decay, float Beta1Complement, float Beta2, float Beta2Complement, float Epsilon, float NegativeStepSize);

    /// <summary>Σ g² over <paramref name="grads"/> (<c>count</c> floats), accumulated in double.</summary>
    public double SumOfSquares(float* grads, int parallelism)
    {
        _g = (nint)grads;
        Run(_sumBody, parallelism);
        double sum = 0;
        foreach (double partial in _partials) sum += partial;
        return sum;
    }

    /// <summary>One AdamW step in place over the four buffers (each <c>count</c> floats).</summary>
    public void Step(float* parameters, float* grads, float* expAvg, float* expAvgSq, in StepConstants constants, int parallelism)
    {
        (_p, _g, _m, _v) = ((nint)parameters, (nint)grads, (nint)expAvg, (nint)expAvgSq);
        _constants = constants;
        Run(_stepBody, parallelism);
    }

    private void Run(Action<int> body, int parallelism)
    {
        if (parallelism <= 1 || _chunks == 1)
        {
            for (int i = 0; i < _chunks; i++) body(i);
            return;
        }

        _options.MaxDegreeOfParallelism = parallelism;
        Parallel.For(0, _chunks, _options, body);
    }

    private (long Start, int Length) Chunk(int chunk)
    {
        long start = (long)chunk * ChunkFloats;
        return (start, (int)Math.Min(ChunkFloats, _count - start));
    }

    private void SumChunk(int chunk)
    {
        var (start, n) = Chunk(chunk);
        float* g = (float*)_g + start;
        int width = Vector<float>.Count;
        var a0 = Vector<double>.Zero;
        var a1 = Vector<double>.Zero;
        int i = 0;
        for (; i <= n - width; i += width)
        {
            var x = Unsafe.ReadUnaligned<Vector<float>>(g + i);
            Vector.Widen(x, out var lo, out var hi);
            a0 += lo * lo;
            a1 += hi * hi;
        }

        double sum = Vector.Sum(a0 + a1);
        for (; i < n; i++) sum += (double)g[i] * g[i];
        _partials[chunk] = sum;
    }

    private void StepChunk(int chunk)
    {
        var (start, n) = Chunk(chunk);
        float* p = (float*)_p + start, g = (float*)_g + start, m = (float*)_m + start, v = (float*)_v + start;
        var c = _constants;
        int width = Vector<float>.Count;
        var gradScale = new Vector<float>(c.GradScale);
        var decay = new Vector<float>(c.Decay);
        var w1 = new Vector<float>(c.Beta1Complement);
        var beta2 = new Vector<float>(c.Beta2);
        var w2 = new Vector<float>(c.Beta2Complement);
        var eps = new Vector<float>(c.Epsilon);
        var stepSize = new Vector<float>(c.NegativeStepSize);
        int i = 0;
        for (; i <= n - width; i += width)
        {
            // The same operations, in the same order, as the libtorch path: p·decay; m + (1−β1)(g − m) (lerp_);
            // v·β2 + (1−β2)·g·g (mul_, addcmul_); p + step·(m / (√v + ε)) (sqrt_, add_, addcdiv_).
            var gi = Unsafe.ReadUnaligned<Vector<float>>(g + i) * gradScale;
            var pi = Unsafe.ReadUnaligned<Vector<float>>(p + i) * decay;
            var mi = Unsafe.ReadUnaligned<Vector<float>>(m + i);
            var vi = Unsafe.ReadUnaligned<Vector<float>>(v + i);
            mi += w1 * (gi - mi);
            vi = vi * beta2 + w2 * gi * gi;
            pi += stepSize * (mi / (Vector.SquareRoot(vi) + eps));
            Unsafe.WriteUnaligned(p + i, pi);
            Unsafe.WriteUnaligned(m + i, mi);
            Unsafe.WriteUnaligned(v + i, vi);
        }

        for (; i < n; i++)
        {
            float gi = g[i] * c.GradScale;
            float pi = p[i] * c.Decay;
            float mi = m[i], vi = v[i];
            mi += c.Beta1Complement * (gi - mi);
            vi = vi * c.Beta2 + c.Beta2Complement * gi * gi;
            pi += c.NegativeStepSize * (mi / (MathF.Sqrt(vi) + c.Epsilon));
            p[i] = pi;
            m[i] = mi;
            v[i] = vi;
        }
    }
}
