namespace Hivemind.Data;

/// <summary>Derives independent 64-bit seeds from a tuple of integers (SplitMix64 finaliser).</summary>
internal static class SeedMixer
{
    public static ulong SplitMix(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        ulong z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Order-sensitive hash: (a, b) and (b, a) give unrelated seeds.</summary>
    public static ulong Mix(params ReadOnlySpan<long> parts)
    {
        ulong state = 0x6A09E667F3BCC908UL;
        foreach (long part in parts)
        {
            state ^= (ulong)part;
            state = SplitMix(ref state);
        }
        return state;
    }
}
