namespace Hivemind.Aggregation.Kernels;

/// <summary>One thread's working set for <see cref="GramMatrix"/>: its partial Gram, a scratch for scaled (or centred and scaled) copies of a block of every row, and each row's scale.</summary>
internal sealed unsafe class BlockState
{
    /// <summary>Floats per scratch row: one Gram block (8 KB; 64 rows = 512 KB, within a core's L2).</summary>
    public const int RowFloats = 2048;

    /// <summary>Row starts aligned to a 64-byte cache line, so an AVX-512 load never spans two lines.</summary>
    private const int AlignmentFloats = 16;

    /// <summary>Pinned for the state's lifetime: the tile kernels read it by pointer.</summary>
    private readonly float[] _scratch;

    public BlockState(int count)
    {
        Count = count;
        Gram = new double[count * count];
        Block = new double[count * count];
        Scales = new double[count];
        Tiles = new nint[count];
        _scratch = GC.AllocateUninitializedArray<float>(count * RowFloats + AlignmentFloats, pinned: true);
        fixed (float* start = _scratch)
        {
            // Pinned, so the address stays valid after the fixed block.
            long misalignment = (long)start % (AlignmentFloats * sizeof(float)) / sizeof(float);
            float* aligned = start + (misalignment == 0 ? 0 : AlignmentFloats - misalignment);
            Pointers = new nint[count];
            for (int i = 0; i < count; i++)
            {
                Pointers[i] = (nint)(aligned + (long)i * RowFloats);
            }
        }
    }

    public int Count { get; }

    public double[] Gram { get; }

    /// <summary>The current block's contribution, added to <see cref="Gram"/> only once the block is known not to have overflowed.</summary>
    public double[] Block { get; }

    /// <summary>Row addresses the tile kernels read for the current block: the input itself, or its scaled copy in the scratch.</summary>
    public nint[] Tiles { get; }

    /// <summary>Factor that turns a tile row back into its values (centred, in the centred pass), per row, for the current block.</summary>
    public double[] Scales { get; }

    /// <summary>Scratch row addresses.</summary>
    private nint[] Pointers { get; }

    public float* Row(int i) => (float*)Pointers[i];
}
