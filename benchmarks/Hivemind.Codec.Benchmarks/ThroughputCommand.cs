using System.Diagnostics;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Codec.Benchmarks;

/// <summary>Encode and decode throughput of every codec on one core, against memcpy of the same fp32 bytes in the same run.</summary>
internal static class ThroughputCommand
{
    public static int Run(Args options)
    {
        int count = options.Get("--values", 16 << 20);
        int reps = options.Get("--reps", 7);
        int kept = options.Get("--kept", 5);
        var random = new Random(1);
        var values = new float[count];
        // Roughly Gaussian pseudo-gradient values (sum of uniforms): the top-k selection sees a realistic spread.
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 1e-3);
        var tensor = new NamedTensor("w", [count], values);
        double gb = count * 4.0 / 1e9;
        var copy = new float[count];
        double memcpy = Median(reps, () => values.AsSpan().CopyTo(copy));
        Console.WriteLine($"{count} fp32 values ({gb * 1e3:0} MB), {reps} reps, median; one thread");
        Console.WriteLine($"| codec | bytes / fp32 byte | encode GB/s | decode GB/s | encode ÷ memcpy | decode ÷ memcpy |");
        Console.WriteLine($"|---|---:|---:|---:|---:|---:|");
        Console.WriteLine($"| memcpy | 1 | {gb / memcpy:0.00} | {gb / memcpy:0.00} | 1 | 1 |");
        CodecSettings[] codecs = [PayloadCodec.Fp16, PayloadCodec.Int8Block, new(PayloadCodec.TopK4, kept), new(PayloadCodec.TopK2, kept)];
        foreach (var codec in codecs)
        {
            byte[] payload = TensorCodec.Encode([tensor], codec);
            double encode = Median(reps, () => TensorCodec.Encode([tensor], codec));
            double decode = Median(reps, () => TensorCodec.Decode(payload, payload.LongLength));
            Console.WriteLine($"| {codec} | {payload.Length / (count * 4.0):0.0000} | {gb / encode:0.00} | {gb / decode:0.00} | {memcpy / encode:0.000} | {memcpy / decode:0.000} |");
        }
        return 0;
    }

    private static double Median(int reps, Action action)
    {
        action(); // warm-up: JIT and first-touch page faults
        var times = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var watch = Stopwatch.StartNew();
            action();
            times[i] = watch.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[reps / 2];
    }
}
