using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>AdamW over one contiguous buffer: every parameter and its gradient are views of two flat tensors, so a step is a handful of large ops.</summary>
/// <remarks>
/// The math is <c>torch.optim.AdamW</c>'s (decoupled weight decay, bias-corrected moments, eps added after the square root),
/// checked against PyTorch by the parity test. Replaces TorchSharp's AdamW, which builds Scalars inside <c>step</c> that the
/// GC can finalize mid-call; every Scalar here comes from a <see cref="ScalarScope"/>. Gradients accumulate in place into
/// the flat buffer (libtorch adds into an existing <c>.grad</c>), and <see cref="ZeroGrad"/> zeroes it rather than dropping
/// it, so every parameter steps every time, with a zero gradient when it was not used: <c>torch.optim.AdamW</c> with
/// <c>zero_grad(set_to_none=False)</c>.
/// <para>On CPU the step, the norm and the clipping run in <see cref="FusedAdamWKernel"/> (one pass over the buffers for the
/// step, one for the norm) instead of libtorch ops; other devices, and <c>fusedKernel: false</c>, use the ops. With the kernel,
/// clipping does not rewrite the gradient: it records the coefficient, and the step, <see cref="GradNorm"/> and
/// <see cref="CopyGradient"/> apply it, until <see cref="ZeroGrad"/>. That is <c>clip_grad_norm_</c> as long as no further
/// backward pass adds into the gradient between clipping and <see cref="ZeroGrad"/> (it would be scaled too; the trainer never
/// does that).</para>
/// </remarks>
public sealed unsafe class FlatAdamW : IDisposable
{
    // torch.nn.utils.clip_grad_norm_ adds this to the norm before dividing, so a zero gradient never divides by zero.
    private const double ClipEpsilon = 1e-6;

    private readonly Tensor _params;
    private readonly Tensor _grads;
    private readonly Tensor _expAvg;
    private readonly Tensor _expAvgSq;
    private readonly Tensor _denominator;
    // lerp_'s weight as a 0-dimensional tensor on the buffer's device: TorchSharp 0.107 has no lerp_ with a Scalar weight.
    private readonly Tensor _lerpWeight;
    private readonly ScalarScope _constants = new();
    private readonly Scalar _beta2;
    private readonly Scalar _oneMinusBeta2;
    private readonly Scalar _one;
    // The one-pass CPU step, or null for the libtorch-op path.
    private readonly FusedAdamWKernel? _kernel;
    // With the kernel, the gradient is logically _grads × _gradScale: clipping multiplies this instead of the buffer.
    private double _gradScale = 1;
    private bool _disposed;

    /// <summary>Moves <paramref name="parameters"/> into one flat buffer (their values are kept) and attaches a flat gradient buffer.</summary>
    /// <param name="fusedKernel">step with <see cref="FusedAdamWKernel"/> when the buffer is on the CPU; false always uses libtorch ops (tests compare the two).</param>
    public FlatAdamW(IReadOnlyList<Parameter> parameters, double beta1, double beta2, double epsilon, double weightDecay, bool fusedKernel = true)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (parameters.Count == 0) throw new ArgumentException("FlatAdamW needs at least one parameter; the model has none.", nameof(parameters));
        Require(beta1, "beta1", 0, 1);
        Require(beta2, "beta2", 0, 1);
        if (!double.IsFinite(epsilon) || epsilon <= 0) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and > 0 (e.g. 1e-8).");
        if (!double.IsFinite(weightDecay) || weightDecay < 0) throw new ArgumentOutOfRangeException(nameof(weightDecay), weightDecay, "weight decay must be finite and >= 0 (e.g. 0.1).");
        var device = parameters[0].device;
        foreach (var p in parameters)
        {
            if (p.dtype != ScalarType.Float32)
                throw new ArgumentException($"FlatAdamW keeps one float32 buffer but a parameter of shape [{string.Join(", ", p.shape)}] is {p.dtype}.", nameof(parameters));
            if (p.device.type != device.type || p.device.index != device.index)
                throw new ArgumentException($"FlatAdamW keeps one buffer on {device} but a parameter of shape [{string.Join(", ", p.shape)}] is on {p.device}.", nameof(parameters));
        }

        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        _beta2 = _constants.Of(beta2);
        _oneMinusBeta2 = _constants.Of(1 - beta2);
        _one = _constants.Of(1.0);
        Count = parameters.Sum(p => p.numel());
        if (fusedKernel && device.type == DeviceType.CPU) _kernel = new FusedAdamWKernel(Count);

        using var scope = NewDisposeScope();
        _params = empty(Count, ScalarType.Float32, device).DetachFromDisposeScope();
        _grads = zeros(Count, ScalarType.Float32, device).DetachFromDisposeScope();
        _expAvg = zeros(Count, ScalarType.Float32, device).DetachFromDisposeScope();
        _expAvgSq = zeros(Count, ScalarType.Float32, device).DetachFromDisposeScope();
        // A fresh buffer per step would cost more than the step: a large allocation is new pages to fault in every time
        // (0.5 s of a 0.55 s step for `small` measured on a loaded 2-core host, against 25 ms in place).
        _denominator = empty(Count, ScalarType.Float32, device).DetachFromDisposeScope();
        _lerpWeight = tensor((float)(1 - beta1), ScalarType.Float32, device: device).DetachFromDisposeScope();
        using var noGrad = no_grad();
        long offset = 0;
        foreach (var p in parameters)
        {
            long n = p.numel();
            var view = _params.narrow(0, offset, n).view(p.shape);
            view.copy_(p);
            // The parameter now aliases its slice of the flat buffer; modules keep the same Parameter object.
            p.set_(view);
            p.grad = _grads.narrow(0, offset, n).view(p.shape);
            offset += n;
        }
    }

    public double Beta1 { get; }

    public double Beta2 { get; }

    public double Epsilon { get; }

    public double WeightDecay { get; }

    /// <summary>Scalars in the flat buffer: the sum of the parameters' element counts.</summary>
    public long Count { get; }

    /// <summary>Steps taken (the bias corrections use it).</summary>
    public long Steps { get; private set; }

    /// <summary>Whether steps run in <see cref="FusedAdamWKernel"/> (CPU) rather than as libtorch ops.</summary>
    public bool Fused => _kernel is not null;

    /// <summary>Threads for the fused kernel; null follows libtorch's intra-op thread count (tests pin it).</summary>
    internal int? KernelThreads { get; set; }

    /// <summary>Zeroes the flat gradient in place (one op), keeping it attached to every parameter.</summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        using var noGrad = no_grad();
        _grads.zero_();
        _gradScale = 1;
    }

    /// <summary>The global L2 norm of the gradient.</summary>
    public double GradNorm()
    {
        ThrowIfDisposed();
        if (_kernel is not null)
            return Math.Sqrt(_kernel.SumOfSquares(Address(_grads), Threads)) * _gradScale;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return _grads.norm().item<float>();
    }

    /// <summary>Scales the gradient so its global L2 norm is at most <paramref name="maxNorm"/>, as <c>clip_grad_norm_</c> does; returns the norm before clipping.</summary>
    /// <remarks>A non-finite norm is returned without touching the gradient, so the caller can stop before the moments are poisoned.</remarks>
    public double ClipGradNorm(double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "the clipping norm must be > 0; skip clipping instead of passing 0.");
        double norm = GradNorm();
        double coefficient = maxNorm / (norm + ClipEpsilon);
        if (double.IsFinite(norm) && coefficient < 1)
        {
            if (_kernel is not null)
            {
                _gradScale *= coefficient;
                return norm;
            }

            using var s = new ScalarScope();
            using var noGrad = no_grad();
            _grads.mul_(s.Of(coefficient));
        }

        return norm;
    }

    /// <summary>One AdamW step at learning rate <paramref name="learningRate"/> over the whole buffer.</summary>
    public void Step(double learningRate)
    {
        ThrowIfDisposed();
        if (!double.IsFinite(learningRate) || learningRate <= 0)
            throw new ArgumentOutOfRangeException(nameof(learningRate), learningRate, "the learning rate must be finite and > 0.");
        Steps++;
        double biasCorrection1 = 1 - Math.Pow(Beta1, Steps);
        double biasCorrection2 = 1 - Math.Pow(Beta2, Steps);
        if (_kernel is not null)
        {
            // The folding described below, with the clipping coefficient applied to the gradient as it is read.
            double sqrtBc2 = Math.Sqrt(biasCorrection2);
            var constants = new FusedAdamWKernel.StepConstants(
                GradScale: (float)_gradScale,
                Decay: (float)(1 - learningRate * WeightDecay),
                Beta1Complement: (float)(1 - Beta1),
                Beta2: (float)Beta2,
                Beta2Complement: (float)(1 - Beta2),
                Epsilon: (float)(Epsilon * sqrtBc2),
                NegativeStepSize: (float)(-learningRate * sqrtBc2 / biasCorrection1));
            _kernel.Step(Address(_params), Address(_grads), Address(_expAvg), Address(_expAvgSq), constants, Threads);
            return;
        }

        using var s = new ScalarScope();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        double sqrtBiasCorrection2 = Math.Sqrt(biasCorrection2);
        if (WeightDecay > 0) _params.mul_(s.Of(1 - learningRate * WeightDecay));
        // Few passes over the buffer: lerp_ is PyTorch 2's one-pass form of m = β1·m + (1 − β1)·g, and
        // m̂ / (√v̂ + ε) = (√bc2 / bc1)·m / (√v + ε·√bc2) saves dividing the denominator by √bc2. Same results as
        // torch.optim.AdamW up to rounding (FlatAdamWTests). (Running the step in cache-sized chunks was tried in session 10
        // and was no faster: 31.6–34.8 ms against 31.7 ms whole for `small`, and 56.7 ms with 64K-float chunks.)
        _expAvg.lerp_(_grads, _lerpWeight);
        _expAvgSq.mul_(_beta2).addcmul_(_grads, _grads, _oneMinusBeta2);
        _denominator.copy_(_expAvgSq).sqrt_().add_(s.Of(Epsilon * sqrtBiasCorrection2), _one);
        _params.addcdiv_(_expAvg, _denominator, s.Of(-learningRate * sqrtBiasCorrection2 / biasCorrection1));
    }

    /// <summary>Copies of the flat parameters and both moments, in parameter order (tests compare them with PyTorch's).</summary>
    public (float[] Parameters, float[] ExpAvg, float[] ExpAvgSq) CopyState()
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        return (Copy(_params), Copy(_expAvg), Copy(_expAvgSq));
    }

    /// <summary>A copy of the flat gradient (clipped, if it was), in parameter order.</summary>
    public float[] CopyGradient()
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        if (_gradScale == 1) return Copy(_grads);
        using var s = new ScalarScope();
        using var noGrad = no_grad();
        return Copy(_grads.mul(s.Of(_gradScale)));
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _params.Dispose();
        _grads.Dispose();
        _expAvg.Dispose();
        _expAvgSq.Dispose();
        _denominator.Dispose();
        _lerpWeight.Dispose();
        _constants.Dispose();
    }

    private static float[] Copy(Tensor t) => t.detach().cpu().data<float>().ToArray();

    private int Threads => KernelThreads ?? get_num_threads();

    // The first float of a contiguous CPU buffer, taken through a one-element view so buffers of any length work
    // (TorchSharp's bytes span is int-sized). Taken per call, never cached: a pointer cannot go stale.
    private static float* Address(Tensor flat)
    {
        using var first = flat.narrow(0, 0, 1);
        return (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(first.bytes));
    }

    private static void Require(double value, string name, double low, double high)
    {
        if (!(value >= low && value < high))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{low}, {high}) (AdamW uses 0.9 and 0.95 here).");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
