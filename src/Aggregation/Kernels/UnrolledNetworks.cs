using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Hivemind.Aggregation.Kernels;

/// <summary>Hand-written half of the generated networks (UnrolledNetworks.g.cs, from generate_unrolled_networks.py).</summary>
internal static unsafe partial class UnrolledNetworks
{
    /// <summary>
    /// How far ahead (in floats, 2 KB) each row is prefetched. The kernels advance n rows in lock step, more
    /// streams than the hardware prefetcher follows: without it n = 64 ran 3-4× slower at d = 1e6.
    /// </summary>
    internal const int PrefetchFloats = 512;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Prefetch(float* address)
    {
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(address);
        }
    }
}
