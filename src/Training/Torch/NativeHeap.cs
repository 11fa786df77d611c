using System.Runtime.InteropServices;

namespace Hivemind.Training;

/// <summary>Keeps glibc's malloc from handing a training step's freed activations back to the kernel, which then has to fault them in again next step.</summary>
/// <remarks>
/// libtorch allocates every CPU tensor with malloc. glibc's defaults return memory eagerly: a block above the adaptive mmap
/// threshold is unmapped on free and the top of the heap is trimmed past the trim threshold. A training step frees its
/// activations at the end of its dispose scope and allocates the same sizes again in the next, so every step re-faulted
/// them page by page: on the 2-core host 7–14 thousand minor faults per `small` dense step (about 15% of its CPU time in
/// the kernel). With these settings a process keeps its peak step footprint mapped between steps (it needs it again).
/// Limits: settings made at run time cannot move a thread that already has its own arena (glibc makes one per thread
/// until it reaches 8 × cores), and such an arena still creates and deletes 64 MiB heaps as a step allocates and frees;
/// only <c>GLIBC_TUNABLES=glibc.malloc.arena_max=1</c> in the environment at process start covers those
/// (docs/benchmarks/training.md). Linux with glibc only; elsewhere, or if mallopt is missing, this does nothing.
/// </remarks>
internal static class NativeHeap
{
    // mallopt parameter numbers from glibc's malloc.h.
    private const int TrimThresholdParameter = -1;
    private const int MmapThresholdParameter = -3;
    private const int ArenaMaxParameter = -8;

    /// <summary>glibc's largest accepted mmap threshold on 64-bit (HEAP_MAX_SIZE / 2): only tensors above 32 MiB get their own mapping.</summary>
    private const int MmapThresholdBytes = 32 << 20;

    /// <summary>Free memory at the heap's top that is kept rather than trimmed: more than a `base` step's transient footprint.</summary>
    private const int TrimThresholdBytes = 1 << 30;

    /// <summary>Threads that have no arena yet share the existing ones instead of making new ones (see the remarks).</summary>
    private const int ArenaMax = 1;

    /// <summary>Applies the settings (once per process, from <see cref="TorchRuntime"/>); returns false where they do not apply.</summary>
    public static bool Tune()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            // Fixing the mmap threshold also stops glibc from adapting both thresholds to the sizes it sees freed.
            return Mallopt(MmapThresholdParameter, MmapThresholdBytes) == 1
                   & Mallopt(TrimThresholdParameter, TrimThresholdBytes) == 1
                   & Mallopt(ArenaMaxParameter, ArenaMax) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);
}
