using System.Buffers;

namespace Hivemind.Aggregation.Kernels;

/// <summary>Pins every input row for the duration of a kernel, so SIMD loops can read them by pointer.</summary>
internal sealed unsafe class PinnedRows : IDisposable
{
    private readonly MemoryHandle[] _handles;

    public PinnedRows(IReadOnlyList<ReadOnlyMemory<float>> rows)
    {
        Count = rows.Count;
        Length = Count == 0 ? 0 : rows[0].Length;
        _handles = new MemoryHandle[Count];
        Pointers = new nint[Count];
        for (int i = 0; i < Count; i++)
        {
            if (rows[i].Length != Length)
            {
                Dispose();
                throw new ArgumentException($"input {i} has length {rows[i].Length}, input 0 has {Length}; all inputs must have equal length.");
            }

            _handles[i] = rows[i].Pin();
            Pointers[i] = (nint)_handles[i].Pointer;
        }
    }

    public int Count { get; }

    public int Length { get; }

    /// <summary>Row start addresses as nint, so lambdas (which cannot capture pointers) can use them.</summary>
    public nint[] Pointers { get; }

    public float* Row(int i) => (float*)Pointers[i];

    public void Dispose()
    {
        foreach (MemoryHandle handle in _handles)
        {
            handle.Dispose();
        }
    }
}
