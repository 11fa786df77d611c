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
/// </remarks>
public sealed class FlatAdamW : IDisposable
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
    private bool _disposed;

    /// <summary>Moves <paramref name="parameters"/> into one flat buffer (their values are kept) and attaches a flat gradient buffer.</summary>
    public FlatAdamW(IReadOnlyList<Parameter> parameters, double beta1, double beta2, double epsilon, double weightDecay)
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

    /// <summary>Zeroes the flat gradient in place (one op), keeping it attached to every parameter.</summary>
    public void ZeroGrad()
    {
        ThrowIfDisposed();
        using var noGrad = no_grad();
        _grads.zero_();
    }

    /// <summary>The global L2 norm of the gradient.</summary>
    public double GradNorm()
    {
        ThrowIfDisposed();
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

    /// <summary>A copy of the flat gradient, in parameter order.</summary>
    public float[] CopyGradient()
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        return Copy(_grads);
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

    private static void Require(double value, string name, double low, double high)
    {
        if (!(value >= low && value < high))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [{low}, {high}) (AdamW uses 0.9 and 0.95 here).");
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);
}
