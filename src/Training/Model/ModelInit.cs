using System.Text;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Training;

/// <summary>The global initial parameters θ_0: deterministic from the seed, the same on every machine.</summary>
public static class ModelInit
{
    /// <summary>Each tensor draws from its own stream keyed by (seed, name), so any shard can be initialised alone and agree with the whole.</summary>
    public static ParameterSet Initialize(ModelConfig config, long seed) => Initialize(config, seed, shard: null);

    public static ParameterSet Initialize(ModelConfig config, long seed, ShardSpec? shard)
    {
        var set = new ParameterSet();
        foreach (var info in ParameterLayout.Describe(config, shard))
        {
            var values = new float[NamedTensor.ElementCount(info.Shape)];
            switch (info.Init)
            {
                case ParameterInit.Ones: Array.Fill(values, 1f); break;
                case ParameterInit.Zeros: break;
                case ParameterInit.Normal: FillNormal(values, info.Std, StreamSeed(seed, info.Name)); break;
            }
            set.Add(new NamedTensor(info.Name, info.Shape, values));
        }
        return set;
    }

    private static ulong StreamSeed(long seed, string name)
    {
        // FNV-1a of the name: stable across runtimes, unlike string.GetHashCode.
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes(name)) h = (h ^ b) * 1099511628211UL;
        return h ^ (ulong)seed * 0x9E3779B97F4A7C15UL;
    }

    private static void FillNormal(Span<float> values, double std, ulong state)
    {
        // SplitMix64 + Box-Muller: tiny, portable and bit-exact everywhere.
        for (int i = 0; i < values.Length; i += 2)
        {
            double u1 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double u2 = (Next(ref state) >> 11) * (1.0 / (1UL << 53));
            double r = Math.Sqrt(-2.0 * Math.Log(1.0 - u1));
            double a = 2.0 * Math.PI * u2;
            values[i] = (float)(std * r * Math.Cos(a));
            if (i + 1 < values.Length) values[i + 1] = (float)(std * r * Math.Sin(a));
        }
    }

    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
