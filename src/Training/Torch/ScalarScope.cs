using TorchSharp;

namespace Hivemind.Training;

/// <summary>The only place Scalars are made: each one is held here until the scope is disposed, so the GC cannot finalize it mid-call.</summary>
/// <remarks>
/// TorchSharp 0.107 turns a number into a native Scalar and lets the managed wrapper become garbage as soon as its handle is
/// passed to libtorch; a collection on another thread then frees the Scalar while the op still reads it ("Unknown scalar
/// type", "Expected false to be true" in c10::Scalar::toFloat). Holding every Scalar in a list that lives across the call
/// closes that window. The conversions, and the TorchSharp methods that convert inside, are banned elsewhere in src/
/// (build/gc-safety/BannedSymbols.txt).
/// </remarks>
public sealed class ScalarScope : IDisposable
{
    private readonly List<Scalar> _held = [];
    private bool _disposed;

    // The one place allowed to convert numbers to Scalars (RS0030 is the banned-API rule): each result is held.
#pragma warning disable RS0030

    /// <summary>Integer 1, held for the life of the process (fits float and integer tensors): the alpha of <c>a.add(b, One)</c>, since <c>a + b</c> builds an unheld one.</summary>
    public static Scalar One { get; } = 1L.ToScalar();

    /// <summary>Integer 0, held for the life of the process: the start of <c>arange(Zero, n, One)</c>, since <c>arange(n)</c> builds an unheld one.</summary>
    public static Scalar Zero { get; } = 0L.ToScalar();

    /// <summary>A Scalar for <paramref name="value"/>, alive until this scope is disposed.</summary>
    public Scalar Of(double value) => Hold(value.ToScalar());

    /// <summary>An integer Scalar for <paramref name="value"/>, alive until this scope is disposed.</summary>
    public Scalar Of(long value) => Hold(value.ToScalar());

#pragma warning restore RS0030

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _held) s.Dispose();
        _held.Clear();
    }

    private Scalar Hold(Scalar s)
    {
        if (_disposed)
        {
            s.Dispose();
            throw new ObjectDisposedException(nameof(ScalarScope), "this ScalarScope is disposed; create the Scalar from a live scope.");
        }

        _held.Add(s);
        return s;
    }
}
