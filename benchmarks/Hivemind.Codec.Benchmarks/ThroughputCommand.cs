using Hivemind.Protocol.Tensors;

namespace Hivemind.Codec.Benchmarks;

/// <summary>Encode and decode throughput of every codec on one core, against memcpy of the same fp32 bytes in the same run.</summary>
internal static class ThroughputCommand
{
    public static int Run(Args options)
    {
        int count = options.Get("--values", 4 << 20);
        int reps = options.Get("--reps", 15);
        int kept = options.Get("--kept", 5);
        var random = new Random(1);
        var values = new float[count];
        // Roughly Gaussian pseudo-gradient values (sum of uniforms): the top-k selection sees a realistic spread.
        for (int i = 0; i < count; i++) values[i] = (float)((random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 1e-3);
        var tensor = new NamedTensor("w", [count], values);
        double gb = count * 4.0 / 1e9;
        var copy = new float[count];
        Action memcpy = () => values.AsSpan().CopyTo(copy);
        Console.WriteLine($"{count} fp32 values ({gb * 1e3:0} MB), {reps} reps; thread CPU time, each rep times memcpy right before the codec; medians; one thread");
        Console.WriteLine("| codec | bytes / fp32 byte | encode GB/s | decode GB/s | memcpy GB/s | encode ÷ memcpy | decode ÷ memcpy |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        CodecSettings[] codecs = [PayloadCodec.Fp16, PayloadCodec.Int8Block, new(PayloadCodec.TopK4, kept), new(PayloadCodec.TopK2, kept)];
        foreach (var codec in codecs)
        {
            byte[] payload = TensorCodec.Encode([tensor], codec);
            var encode = Paired(reps, memcpy, () => TensorCodec.Encode([tensor], codec));
            var decode = Paired(reps, memcpy, () => TensorCodec.Decode(payload, payload.LongLength));
            Console.WriteLine($"| {codec} | {payload.Length / (count * 4.0):0.0000} | {gb / encode.Seconds:0.00} | {gb / decode.Seconds:0.00} | {gb / encode.Peer:0.00} | {encode.Ratio:0.000} | {decode.Ratio:0.000} |");
        }
        return 0;
    }

    /// <summary>Median time of <paramref name="action"/>, of <paramref name="peer"/>, and median per-rep ratio peer ÷ action (throughput ratio).</summary>
    private static (double Seconds, double Peer, double Ratio) Paired(int reps, Action peer, Action action)
    {
        peer();
        action(); // warm-up: JIT and first-touch page faults
        var times = new double[reps];
        var peers = new double[reps];
        var ratios = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            double t0 = ThreadClock.Now();
            peer();
            double t1 = ThreadClock.Now();
            action();
            double t2 = ThreadClock.Now();
            peers[i] = t1 - t0;
            times[i] = t2 - t1;
            ratios[i] = peers[i] / times[i];
        }
        Array.Sort(times);
        Array.Sort(peers);
        Array.Sort(ratios);
        return (times[reps / 2], peers[reps / 2], ratios[reps / 2]);
    }
}
