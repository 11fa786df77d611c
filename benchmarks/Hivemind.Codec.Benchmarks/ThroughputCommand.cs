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
            // Diagnosis, not a shipped path: the same encoding into one reused array, so the difference to the row above is what the
            // fresh result array costs (its first-touch page faults; docs/benchmarks/codecs.md, Session 10).
            var reused = new byte[payload.Length];
            var encodeReused = Paired(reps, memcpy, () =>
            {
                using var stream = new MemoryStream(reused, writable: true);
                TensorCodec.Encode([tensor], codec, stream);
            });
            Console.WriteLine($"| {codec}, into a reused array (diagnosis) | {payload.Length / (count * 4.0):0.0000} | {gb / encodeReused.Seconds:0.00} | – | {gb / encodeReused.Peer:0.00} | {encodeReused.Ratio:0.000} | – |");
            if (codec.UsesFeedback) continue; // top-k: the volunteer's payload comes from its error feedback, unpooled (small)
            // The shipped paths (Session 11): exactly the volunteer's encoding step of WorkUnitRunner.SealPooled and the coordinator's of
            // StepBroadcast.Encode, each into a buffer rented from a pool of its own; each rep disposes the lease, as the next unit or the
            // step's eviction does, so the next rep writes into the same buffer. Decoding is the same TensorCodec.Decode as the row above.
            var update = new ParameterSet { tensor };
            var sealPool = new PayloadBufferPool(maxBuffers: 3);
            var seal = Paired(reps, memcpy, () => Hivemind.Volunteer.Work.WorkUnitRunner.EncodeUpdate(update, codec, sealPool).Dispose());
            Console.WriteLine($"| {codec}, volunteer's Seal into its pooled buffer (shipped path) | {payload.Length / (count * 4.0):0.0000} | {gb / seal.Seconds:0.00} | {gb / decode.Seconds:0.00} | {gb / seal.Peer:0.00} | {seal.Ratio:0.000} | {decode.Ratio:0.000} |");
            var stepPool = new PayloadBufferPool(maxBuffers: 18);
            var step = Paired(reps, memcpy, () => Hivemind.Coordinator.Broadcast.StepBroadcast.EncodeStep(update, codec, stepPool).Dispose());
            Console.WriteLine($"| {codec}, coordinator's broadcast step into its pooled buffer (shipped path) | {payload.Length / (count * 4.0):0.0000} | {gb / step.Seconds:0.00} | {gb / decode.Seconds:0.00} | {gb / step.Peer:0.00} | {step.Ratio:0.000} | {decode.Ratio:0.000} |");
        }
        Lossless("synthetic", [tensor], reps);
        foreach (string path in options.Get("--parameters", "").Split(',', StringSplitOptions.RemoveEmptyEntries))
            Lossless(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(path)))) + "/" + Path.GetFileName(path), Hivemind.Training.SafeTensors.Read(path), reps);
        return 0;
    }

    /// <summary>
    /// The lossless full-download codec (CODEC_FP32_SHUFFLE_ZSTD, issue 16) on <paramref name="tensors"/>, at its level and at level 1 (both with its plane tuning),
    /// and zstd level 1 without the shuffle as a peer; sizes are of the whole payload (header included) over the fp32 payload's.
    /// </summary>
    private static void Lossless(string label, IEnumerable<NamedTensor> tensors, int reps)
    {
        byte[] fp32 = TensorCodec.Encode(tensors, PayloadCodec.Fp32);
        double gb = fp32.Length / 1e9;
        var copy = new byte[fp32.Length];
        Action memcpy = () => fp32.AsSpan().CopyTo(copy);
        Console.WriteLine($"lossless on {label}: {fp32.Length} fp32 payload bytes");
        // The coordinator's path (ParameterCache): each entry's compressed form is encoded once into a buffer rented from the cache's
        // pool and returned when the entry is evicted and no download reads it; here each rep rents, encodes and returns, as one entry
        // per version does in steady state. Decoding is the volunteer's: a new fp32 array per download.
        var pool = new PayloadBufferPool();
        byte[] shipped = Fp32ShuffleZstd.Encode(fp32);
        var cached = Paired(reps, memcpy, () =>
        {
            var (buffer, _) = Hivemind.Coordinator.Services.ParameterCache.CompressedEntry.Encode(fp32, pool);
            pool.Return(buffer);
        });
        var shippedDecode = Paired(reps, memcpy, () => Fp32ShuffleZstd.Decode(shipped, fp32.Length));
        Console.WriteLine($"| fp32-shuffle-zstd level {Fp32ShuffleZstd.DefaultLevel}, into the cache's pooled buffer (shipped path) ({label}) | {shipped.Length / (double)fp32.Length:0.0000} | {gb / cached.Seconds:0.00} | {gb / shippedDecode.Seconds:0.00} | {gb / cached.Peer:0.00} | {cached.Ratio:0.000} | {shippedDecode.Ratio:0.000} |");
        foreach (int level in new[] { Fp32ShuffleZstd.DefaultLevel, 1 })
        {
            byte[] compressed = Fp32ShuffleZstd.Encode(fp32, level);
            var encode = Paired(reps, memcpy, () => Fp32ShuffleZstd.Encode(fp32, level));
            var decode = Paired(reps, memcpy, () => Fp32ShuffleZstd.Decode(compressed, fp32.Length));
            Console.WriteLine($"| fp32-shuffle-zstd level {level}, new array per call ({label}) | {compressed.Length / (double)fp32.Length:0.0000} | {gb / encode.Seconds:0.00} | {gb / decode.Seconds:0.00} | {gb / encode.Peer:0.00} | {encode.Ratio:0.000} | {decode.Ratio:0.000} |");
        }
        using var compressor = new ZstdSharp.Compressor(1);
        using var decompressor = new ZstdSharp.Decompressor();
        const int block = Fp32ShuffleZstd.BlockValues * sizeof(float);
        var frames = new List<byte[]>();
        Action plain = () =>
        {
            frames.Clear();
            for (int o = 0; o < fp32.Length; o += block) frames.Add(compressor.Wrap(fp32.AsSpan(o, Math.Min(block, fp32.Length - o))).ToArray());
        };
        plain();
        long size = frames.Sum(f => (long)f.Length);
        var plainEncode = Paired(reps, memcpy, plain);
        var plainDecode = Paired(reps, memcpy, () =>
        {
            int o = 0;
            foreach (var f in frames) o += decompressor.Unwrap(f, copy.AsSpan(o));
        });
        Console.WriteLine($"| zstd level 1, no shuffle ({label}) | {size / (double)fp32.Length:0.0000} | {gb / plainEncode.Seconds:0.00} | {gb / plainDecode.Seconds:0.00} | {gb / plainEncode.Peer:0.00} | {plainEncode.Ratio:0.000} | {plainDecode.Ratio:0.000} |");
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
