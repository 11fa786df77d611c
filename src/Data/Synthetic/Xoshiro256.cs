namespace Hivemind.Data;

/// <summary>xoshiro256** pseudo-random generator: fast, seedable and identical on every platform.</summary>
/// <remarks>
/// Hand-written because <see cref="Random"/> with a seed uses a slow legacy algorithm kept only
/// for compatibility, and no well-kept package offers a seedable xoshiro for .NET. Reference:
/// Blackman and Vigna, https://prng.di.unimi.it/xoshiro256starstar.c.
/// </remarks>
internal struct Xoshiro256
{
    private ulong _s0, _s1, _s2, _s3;

    public Xoshiro256(ulong seed)
    {
        // SplitMix64 expands one 64-bit seed into the 256-bit state, as the authors recommend.
        _s0 = SeedMixer.SplitMix(ref seed);
        _s1 = SeedMixer.SplitMix(ref seed);
        _s2 = SeedMixer.SplitMix(ref seed);
        _s3 = SeedMixer.SplitMix(ref seed);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, bound) without modulo bias (Lemire's method).</summary>
    public int NextInt(int bound)
    {
        ulong m = (ulong)(uint)NextUInt64() * (ulong)bound;
        if ((uint)m < (uint)bound)
        {
            uint threshold = (uint)-bound % (uint)bound;
            while ((uint)m < threshold)
            {
                m = (ulong)(uint)NextUInt64() * (ulong)bound;
            }
        }
        return (int)(m >> 32);
    }
}
