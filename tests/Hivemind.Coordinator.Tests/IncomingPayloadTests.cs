using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The submit path's payload buffer answers whichever way it decodes: while the bytes arrive (a worker) or after the stream (a small
/// payload, or every worker busy). The gRPC service awaits <see cref="IncomingPayload.ProcessedAsync"/> before its verdict, so a
/// buffer that never completes it stalls the submission, and with it the round (the top-k end-to-end stall).
/// </summary>
public sealed class IncomingPayloadTests
{
    /// <summary>Bound on awaiting a payload that is complete in memory: it needs no more than a decode of a tiny shard.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ASmallTopKUpdateIsProcessedAfterTheStreamWithoutAWorker()
    {
        using var h = new EngineHarness(o => o with { Quorum = 1, Codec = "topk4", CodecDensity = 0.03 });
        var v = h.Join();
        var update = v.Train(v.Lease());
        Assert.True(update.Payload.Length < IncomingPayload.PipelineMinBytes, $"a top-k update of tiny ({update.Payload.Length} bytes) must take the plain path");

        var ticket = h.Engine.BeginSubmit(update.Envelope.Bytes, update.Envelope.Signature, v.Id);
        var payload = h.Engine.ReceivePayload(ticket);
        try
        {
            Assert.False(payload.Pipelined);
            update.Payload.CopyTo(payload.Buffer);
            payload.Report(update.Payload.Length);
            await Processed(payload, "the top-k update");
            h.Engine.CompleteSubmit(ticket, payload);
        }
        finally
        {
            await DisposeIfProcessed(payload);
        }

        Assert.Equal(1, h.Engine.Store.LedgerCount());
    }

    [Fact]
    public async Task LargeUpdatesBeyondTheWorkersAreProcessedAfterTheStream()
    {
        // One more large update in flight than there are workers: at least one finds every worker busy and decodes after its stream.
        int count = IncomingPayload.MaxWorkers + 1;
        using var h = new EngineHarness(o => o with { Quorum = count });
        var volunteers = Enumerable.Range(0, count).Select(_ => h.Join()).ToList();
        var units = volunteers.Select(v => v.Lease()).ToList();
        var updates = volunteers.Zip(units, (v, u) => v.Train(u)).ToList();
        Assert.All(updates, u => Assert.True(u.Payload.Length >= IncomingPayload.PipelineMinBytes, "fp16 updates of tiny must be large enough for a worker"));

        var tickets = volunteers.Zip(updates, (v, u) => h.Engine.BeginSubmit(u.Envelope.Bytes, u.Envelope.Signature, v.Id)).ToList();
        // Every buffer is opened before any is filled, as concurrent streams are.
        var payloads = tickets.Select(t => h.Engine.ReceivePayload(t)).ToList();
        try
        {
            Assert.Contains(payloads, p => !p.Pipelined);
            for (int i = 0; i < count; i++)
            {
                updates[i].Payload.CopyTo(payloads[i].Buffer);
                payloads[i].Report(updates[i].Payload.Length);
                await Processed(payloads[i], $"update {i} ({(payloads[i].Pipelined ? "with a worker" : "without a worker")})");
                h.Engine.CompleteSubmit(tickets[i], payloads[i]);
            }
        }
        finally
        {
            foreach (var p in payloads) await DisposeIfProcessed(p);
        }
        Assert.Equal(count, h.Engine.Store.LedgerCount());
    }

    /// <summary>
    /// Disposing waits for processing. A worker stops when its payload is disposed; a payload without one that never completes
    /// processing is left behind, so the test fails instead of hanging.
    /// </summary>
    private static ValueTask DisposeIfProcessed(IncomingPayload payload) =>
        payload.Pipelined || payload.ProcessedAsync().IsCompleted ? payload.DisposeAsync() : ValueTask.CompletedTask;

    private static async Task Processed(IncomingPayload payload, string what)
    {
        try
        {
            await payload.ProcessedAsync().WaitAsync(Patience);
        }
        catch (TimeoutException)
        {
            Assert.Fail($"{what} of {payload.Length} bytes was received in full, but ProcessedAsync did not complete within {Patience}: the submit path would never answer");
        }
    }
}
