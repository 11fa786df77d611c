using System.Security.Cryptography;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The submit path's one-pass check from the wire bytes without decoding (<see cref="UpdateVerifier.CheckWire"/>: updates stay in
/// wire form until their round closes) and its staging straight from the
/// reused receive buffer: the same verdicts and norms as decoding the whole payload and then checking it, a non-finite value found
/// wherever it is (the last value of the last tensor too), and on disk exactly the acknowledged bytes, before the acknowledgement.
/// </summary>
public sealed class StreamingSubmitTests : IDisposable
{
    /// <summary>Bound on awaiting a worker that has every byte of a tiny update.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>Bytes per simulated network chunk: several chunks per tensor slice and several slices per chunk both occur in tiny.</summary>
    private const int ChunkBytes = 7_001;

    private readonly EngineHarness _h = new(o => o with { Quorum = 8 });

    public void Dispose() => _h.Dispose();

    [Theory]
    [InlineData("fp16")]
    [InlineData("fp32")]
    public void TheWireFormCheckGivesTheSameNormsBitForBitAsDecodeThenCheck(string codec)
    {
        using var h = new EngineHarness(o => o with { Codec = codec });
        var v = h.Join();
        var unit = v.Lease();
        var update = v.Train(unit);
        var verifier = new UpdateVerifier(new TensorGroups(h.Engine.GlobalParameters()), h.Options.MaxUpdateNorm);
        CodecSettings settings = codec == "fp16" ? PayloadCodec.Fp16 : PayloadCodec.Fp32;

        var expectedNorms = verifier.Check(verifier.Decode(update.Payload, unit.Shard, settings), unit.Shard);
        var norms = verifier.CheckWire(update.Payload, update.Payload.LongLength, _ => update.Payload.LongLength, unit.Shard, settings);

        Assert.Equal(expectedNorms.Keys.Order(StringComparer.Ordinal), norms.Keys.Order(StringComparer.Ordinal));
        foreach (var (key, norm) in expectedNorms)
            Assert.True(BitConverter.DoubleToInt64Bits(norm) == BitConverter.DoubleToInt64Bits(norms[key]), $"group {key}: {norms[key]:R} from the wire, {norm:R} decoded");
    }

    [Fact]
    public void TheWireFormCheckRefusesANormAboveTheBound()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var delta = TensorCodec.Decode(v.Train(unit).Payload, long.MaxValue).Tensors;
        // fp16's largest finite value in every element of one tensor: every value is finite, the group's norm far above the bound.
        var first = delta[delta.Names.First()].Values;
        Array.Fill(first, 65504f);
        byte[] payload = TensorCodec.Encode(delta, PayloadCodec.Fp16);
        var verifier = new UpdateVerifier(new TensorGroups(_h.Engine.GlobalParameters()), _h.Options.MaxUpdateNorm);

        var e = Assert.Throws<ProtocolException>(() => verifier.CheckWire(payload, payload.LongLength, _ => payload.LongLength, unit.Shard, PayloadCodec.Fp16));

        Assert.Equal(RejectReason.NormTooLarge, e.Reason);
    }

    [Fact]
    public void OnePassNamesTheSameNonFiniteTensorAsCheckWhateverThePayloadOrder()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var delta = TensorCodec.Decode(v.Train(unit).Payload, long.MaxValue).Tensors;
        var names = delta.Names.ToList();
        // NaN in the ordinal-last tensor, +Inf in the ordinal-first; the payload lists the tensors last-to-first, so the one pass meets
        // the NaN first. Check goes in ordinal order and names the +Inf tensor; the one pass must say the same.
        delta[names[^1]].Values[^1] = float.NaN;
        delta[names[0]].Values[3] = float.PositiveInfinity;
        byte[] payload = TensorCodec.Encode(delta.Reverse(), PayloadCodec.Fp16);
        var verifier = new UpdateVerifier(new TensorGroups(_h.Engine.GlobalParameters()), _h.Options.MaxUpdateNorm);
        CodecSettings settings = PayloadCodec.Fp16;

        var fromCheck = Assert.Throws<ProtocolException>(() => verifier.Check(verifier.Decode(payload, unit.Shard, settings), unit.Shard));
        var fromWire = Assert.Throws<ProtocolException>(() => verifier.CheckWire(payload, payload.LongLength, _ => payload.LongLength, unit.Shard, settings));

        Assert.Equal(RejectReason.NonFinite, fromWire.Reason);
        Assert.Equal(fromCheck.Message, fromWire.Message);
        Assert.Contains($"'{names[0]}'", fromWire.Message);
    }

    [Fact]
    public async Task ANanInTheLastValueOfTheLastTensorIsFoundWhileStreaming()
    {
        var v = _h.Join();
        var unit = v.Lease();
        var delta = TensorCodec.Decode(v.Train(unit).Payload, long.MaxValue).Tensors;
        string last = delta.Names.Last(); // Seal encodes in ordinal order: the payload's last bytes
        delta[last].Values[^1] = float.NaN;
        var update = WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), delta, v.Identity, 1.0, _h.Engine.ExpectedTokens);
        long ledger = _h.Engine.Store.LedgerCount();

        var ticket = _h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
        await using var payload = _h.Engine.ReceivePayload(ticket);
        Assert.True(payload.Pipelined, "a tiny fp16 update is large enough for a worker, which decodes while the chunks arrive");
        await StreamAsync(update.Payload, payload);

        var e = Assert.Throws<ProtocolException>(() => _h.Engine.CompleteSubmit(ticket, payload));
        Assert.Equal(RejectReason.NonFinite, e.Reason);
        Assert.Contains($"'{last}'", e.Message);
        Assert.Contains($"index {delta[last].Values.Length - 1}", e.Message);
        Assert.Equal(ledger, _h.Engine.Store.LedgerCount());
        string updates = Path.Combine(_h.Options.DataDirectory, "updates");
        Assert.False(Directory.Exists(updates) && Directory.EnumerateFiles(updates, "*", SearchOption.AllDirectories).Any(), "a rejected update left a file in updates/");
    }

    [Fact]
    public async Task AnAcknowledgedUpdateIsOnDiskByteForByteAndSurvivesARestart()
    {
        // Two uploads one after the other: the second reuses the first's receive buffer, whose stale bytes must not reach its file,
        // and each file's last, partial block (written padded for direct I/O) must be cut back to the exact length.
        var sequences = new List<long>();
        var updates = new List<TrainedUpdate>();
        for (int i = 0; i < 2; i++)
        {
            var v = _h.Join();
            var update = v.Train(v.Lease());
            Assert.NotEqual(0, update.Payload.Length % 4096);
            var ticket = _h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
            await using var payload = _h.Engine.ReceivePayload(ticket);
            Assert.True(payload.Pipelined);
            await StreamAsync(update.Payload, payload);
            sequences.Add(_h.Engine.CompleteSubmit(ticket, payload));
            updates.Add(update);
        }

        // What CompleteSubmit returned is the acknowledgement: by then the stored file holds exactly the signed payload.
        var stored = _h.Engine.Store.Updates(_h.Engine.Round).ToList();
        Assert.Equal(2, stored.Count);
        foreach (var update in updates)
        {
            var record = stored.Single(u => u.Envelope.AsSpan().SequenceEqual(update.Envelope.Bytes));
            byte[] onDisk = File.ReadAllBytes(Path.Combine(_h.Options.DataDirectory, record.PayloadPath));
            Assert.Equal(SHA256.HashData(update.Payload), SHA256.HashData(onDisk));
        }
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_h.Options.DataDirectory, "incoming")));

        _h.Restart();
        Assert.Equal(2, _h.Engine.Status().AcceptedUpdates);
    }

    [Fact]
    public async Task AnUpdateOfManyStagingWritesAndFlushesIsOnDiskByteForByte()
    {
        // small's whole shard in fp32 is tens of MB: several staging writes of varying, block-rounded sizes (the writer writes whatever
        // has arrived) and flushes every 8 MiB while the chunks arrive, then the cut back to the exact length and the final fsync.
        using var h = new EngineHarness(o => o with { Preset = "small", Codec = "fp32", Quorum = 8 });
        var v = h.Join();
        var unit = v.Lease();
        var rng = new Random(9);
        var delta = new ParameterSet();
        foreach (var t in h.Engine.ShardParameters(v.Session, unit.Version, unit.Id))
            delta.Add(new NamedTensor(t.Name, t.Shape, Enumerable.Range(0, t.Values.Length).Select(_ => (float)((rng.NextDouble() * 2 - 1) * 1e-3)).ToArray()));
        var update = WorkUnitRunner.Seal(EngineHarness.ToSpec(unit), delta, v.Identity, 1.0, h.Engine.ExpectedTokens);
        Assert.True(update.Payload.Length > 3 * (8 << 20), $"the update has {update.Payload.Length} bytes; it must span several flush steps");
        Assert.NotEqual(0, update.Payload.Length % 4096);

        var ticket = h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
        await using var payload = h.Engine.ReceivePayload(ticket);
        Assert.True(payload.Pipelined);
        await StreamAsync(update.Payload, payload, LargeChunkBytes);
        long seq = h.Engine.CompleteSubmit(ticket, payload);

        var record = h.Engine.Store.Updates(h.Engine.Round).Single(u => u.Sequence == seq);
        Assert.Equal(SHA256.HashData(update.Payload), SHA256.HashData(File.ReadAllBytes(Path.Combine(h.Options.DataDirectory, record.PayloadPath))));
        Assert.True(payload.Timings.Has(SubmitPhase.Staged), "the staging worker did not report its fsync");
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(h.Options.DataDirectory, "incoming")));
    }

    /// <summary>Bytes per chunk of the large update: the transport's 1 MiB plus an odd remainder, so fill levels are never block-aligned.</summary>
    private const int LargeChunkBytes = (1 << 20) + 3;

    /// <summary>Puts the payload into the buffer chunk by chunk, reporting each fill level as the gRPC reader does, then waits for the worker.</summary>
    private static async Task StreamAsync(byte[] bytes, IncomingPayload payload, int chunkBytes = ChunkBytes)
    {
        for (int at = 0; at < bytes.Length; at += chunkBytes)
        {
            int count = Math.Min(chunkBytes, bytes.Length - at);
            bytes.AsSpan(at, count).CopyTo(payload.Buffer.Span[at..]);
            payload.Report(at + count);
        }
        await payload.ProcessedAsync().WaitAsync(Patience);
    }
}
