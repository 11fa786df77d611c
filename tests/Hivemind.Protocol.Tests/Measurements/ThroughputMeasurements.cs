using System.Diagnostics;
using System.Security.Cryptography;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Xunit.Abstractions;

namespace Hivemind.Protocol.Tests.Measurements;

/// <summary>
/// Measures codec, hashing and reassembly time as a ratio to a plain memcpy of the same float32 bytes, measured
/// alternately in the same run so both see the same machine load. Prints a table (run with
/// <c>--logger "console;verbosity=detailed"</c>); asserts only correctness, never a time.
/// </summary>
[Trait("Category", "Measurement")]
public sealed class ThroughputMeasurements(ITestOutputHelper output)
{
    /// <summary>32 MiB of float32: large enough to leave the caches, small enough for a shared machine.</summary>
    private const int Values = 8 << 20;

    /// <summary>Best of this many alternating runs: the minimum is the least disturbed by other processes.</summary>
    private const int Repeats = 11;

    [Fact]
    public void CodecAndHashThroughputRelativeToMemcpy()
    {
        var random = new Random(11);
        var values = new float[Values];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * 0.01f;
        var tensors = new ParameterSet([new NamedTensor("w", [Values / 1024, 1024], values)]);
        long floatBytes = 4L * Values;
        var target = new byte[floatBytes];
        var source = new byte[floatBytes];
        Buffer.BlockCopy(values, 0, source, 0, source.Length);
        Action memcpy = () => source.AsSpan().CopyTo(target);

        var rows = new List<(string Name, double Seconds, double Memcpy)>();
        void Measure(string name, Action action)
        {
            var (seconds, memcpySeconds) = BestAlternating(action, memcpy);
            rows.Add((name, seconds, memcpySeconds));
        }

        Measure("memcpy (same bytes)", memcpy);
        foreach (var c in Enum.GetValues<PayloadCodec>())
        {
            // The top-k codecs need their kept count; 5 of 256 is about 2%.
            var codec = CodecSettings.IsSparse(c) ? new CodecSettings(c, 5) : c;
            byte[] payload = TensorCodec.Encode(tensors, codec);
            var reused = new byte[payload.Length];
            Measure($"encode {codec} → reused buffer", () => TensorCodec.Encode(tensors, codec, new MemoryStream(reused, writable: true)));
            Assert.Equal(payload, reused);
            Measure($"encode {codec} → new byte[]", () => TensorCodec.Encode(tensors, codec));
            TensorPayload? decoded = null;
            Measure($"decode {codec} → new float[]", () => decoded = TensorCodec.Decode(payload, payload.Length));
            Assert.Equal(Values, decoded!.Tensors["w"].Values.Length);
        }
        Measure("SHA-256 (IncrementalHash, 1 MiB chunks)", () => HashInChunks(source));
        byte[] sha = SHA256.HashData(source);
        byte[]? assembled = null;
        Measure("PayloadAssembler (chunks → copy + SHA-256)", () =>
        {
            using var assembler = new PayloadAssembler(source.Length, sha, source.Length, ProtocolLimits.DefaultChunkBytes);
            foreach (var chunk in PayloadChunker.Split(source)) assembler.Append(chunk.Span);
            assembled = assembler.Complete();
        });
        Assert.Equal(source, assembled);

        // The fastest memcpy of the whole run is the least disturbed measure of what moving these bytes costs.
        double memcpyBest = rows.Min(r => r.Memcpy);
        output.WriteLine($"{Values} float32 values ({floatBytes >> 20} MiB), best of {Repeats} runs alternating with memcpy; ratio = best time / best memcpy time ({memcpyBest * 1e3:F2} ms)");
        output.WriteLine("| operation | MiB/s of float32 data | time ÷ memcpy |");
        output.WriteLine("|---|---:|---:|");
        foreach (var (name, seconds, _) in rows)
            output.WriteLine($"| {name} | {floatBytes / seconds / (1 << 20):F0} | {seconds / memcpyBest:F1} |");
    }

    private static void HashInChunks(byte[] data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var chunk in PayloadChunker.Split(data)) hash.AppendData(chunk.Span);
        hash.GetHashAndReset();
    }

    private static (double Action, double Peer) BestAlternating(Action action, Action peer)
    {
        action(); // warm-up: JIT and first-touch page faults
        peer();
        double best = double.MaxValue, bestPeer = double.MaxValue;
        for (int i = 0; i < Repeats; i++)
        {
            long start = Stopwatch.GetTimestamp();
            peer();
            bestPeer = Math.Min(bestPeer, Stopwatch.GetElapsedTime(start).TotalSeconds);
            start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return (best, bestPeer);
    }
}
