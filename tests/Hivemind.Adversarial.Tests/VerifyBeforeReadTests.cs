using Google.Protobuf;
using Grpc.Core;
using Hivemind.Adversarial.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.V1;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 2: the envelope, lease and exact payload size are verified before any payload byte; streams are bounded in size and time.</summary>
public sealed class VerifyBeforeReadTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AHugeDeclaredSizeIsOversizedAtOnceWithoutAPayloadByteSent()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            var before = Snapshot.Of(c.Engine);
            var signed = Attacker.Sign(key, unit, honest.Payload, payloadLength: 10_000_000_000);
            using var call = attacker.Client.SubmitUpdate();
            await call.RequestStream.WriteAsync(Attacker.Header(key, signed));
            // The stream stays open and no data is sent: the answer can only come from the header.
            var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Patience));
            Assert.Equal(RejectReason.Oversized, Attacker.ReasonOf(e));
            Assert.Equal(before, Snapshot.Of(c.Engine));
            await attacker.HonestUnitAsync();
        }
    }

    [Theory]
    [InlineData(5 << 20)] // above gRPC's message limit: refused by the transport, still with a reason
    [InlineData((2 << 20) + 1)] // above the protocol's chunk limit
    public async Task AnOversizedChunkCarriesTheReasonTrailer(int chunkBytes)
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            var before = Snapshot.Of(c.Engine);
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, honest.Envelope, [new byte[chunkBytes]]));
            Assert.Equal(RejectReason.Oversized, Attacker.ReasonOf(e));
            Assert.Equal(before, Snapshot.Of(c.Engine));
            await attacker.HonestUnitAsync();
        }
    }

    [Fact]
    public async Task WhatTheStreamingDecodeFindsCountsOnlyOnceTheHashMatches()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            Assert.True(honest.Payload.Length >= Hivemind.Coordinator.Rounds.IncomingPayload.PipelineMinBytes, "the payload must take the decode-while-streaming path");
            // The last value of the last tensor becomes an fp16 NaN: decoding it while it streams finds a non-finite value.
            byte[] poisoned = (byte[])honest.Payload.Clone();
            poisoned[^2] = 0x00;
            poisoned[^1] = 0x7E;
            double reputation = c.Engine.Store.GetVolunteer(key.Id)!.Reputation;
            var before = Snapshot.Of(c.Engine);

            // Signed for the honest bytes, sent the poisoned ones: the hash decides, and a hash mismatch costs nothing.
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, honest.Envelope, [poisoned]));
            Assert.Equal(RejectReason.HashMismatch, Attacker.ReasonOf(e));
            Assert.Equal(reputation, c.Engine.Store.GetVolunteer(key.Id)!.Reputation);
            Assert.Equal(before, Snapshot.Of(c.Engine));

            // Signed for the poisoned bytes: now the decode's verdict stands, and it is attributable.
            e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, Attacker.Sign(key, unit, poisoned), [poisoned]));
            Assert.Equal(RejectReason.NonFinite, Attacker.ReasonOf(e));
            Assert.True(c.Engine.Store.GetVolunteer(key.Id)!.Reputation < reputation);
            Assert.Equal(before, Snapshot.Of(c.Engine));
        }
    }

    [Fact]
    public async Task AByteBeyondTheExpectedSizeIsRefused()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            var before = Snapshot.Of(c.Engine);
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, honest.Envelope, [honest.Payload, [0]]));
            Assert.Equal(RejectReason.Oversized, Attacker.ReasonOf(e));
            Assert.Equal(before, Snapshot.Of(c.Engine));
        }
    }

    [Fact]
    public async Task ASilentStreamIsDroppedAfterTheIdleTimeout()
    {
        var (c, attacker, time) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            var before = Snapshot.Of(c.Engine);
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            c.Engine.SubmissionOpened += _ => opened.TrySetResult();
            using var call = attacker.Client.SubmitUpdate();
            await call.RequestStream.WriteAsync(Attacker.Header(key, honest.Envelope));
            await call.RequestStream.WriteAsync(new UpdateChunk { Data = ByteString.CopyFrom(honest.Payload, 0, 1000) });
            await opened.Task.WaitAsync(Patience);
            time.Advance(c.Engine.Options.SubmitIdleTimeout + TimeSpan.FromSeconds(2));
            var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.WaitAsync(Patience));
            Assert.Equal(RejectReason.TooSlow, Attacker.ReasonOf(e));
            Assert.Equal(before, Snapshot.Of(c.Engine));
            Assert.Equal(0, c.Engine.ReceivingBytes); // its share of the receive budget is back
        }
    }

    [Fact]
    public async Task OnlyOneSubmissionPerLeaseIsInFlight()
    {
        var (c, attacker, _) = await Crowd.StartAsync();
        await using (c)
        await using (attacker)
        {
            var key = await attacker.JoinAsync();
            var unit = await attacker.LeaseAsync(key);
            var honest = await attacker.TrainAsync(key, unit);
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            c.Engine.SubmissionOpened += _ => opened.TrySetResult();
            using var first = attacker.Client.SubmitUpdate();
            await first.RequestStream.WriteAsync(Attacker.Header(key, honest.Envelope));
            await opened.Task.WaitAsync(Patience);
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(key, honest.Envelope, [honest.Payload]));
            Assert.Equal(RejectReason.SubmitInProgress, Attacker.ReasonOf(e));
            await first.RequestStream.WriteAsync(new UpdateChunk { Data = ByteString.CopyFrom(honest.Payload) });
            await first.RequestStream.CompleteAsync();
            Assert.True((await first.ResponseAsync.WaitAsync(Patience)).Accepted);
            Assert.Equal(1, c.Engine.Store.LedgerCount());
        }
    }

    [Fact]
    public async Task TheReceiveBudgetBoundsBytesInFlight()
    {
        var (c, attacker, _) = await Crowd.StartAsync(o => o with { MaxReceivingBytes = 1 << 20, Codec = "fp32" });
        await using (c)
        await using (attacker)
        {
            // Two keys, two leases: the first stream reserves its payload, the second would pass the 1 MiB budget.
            var keys = new[] { await attacker.JoinAsync(), await attacker.JoinAsync() };
            var units = new[] { await attacker.LeaseAsync(keys[0]), await attacker.LeaseAsync(keys[1]) };
            var updates = new[] { await attacker.TrainAsync(keys[0], units[0]), await attacker.TrainAsync(keys[1], units[1]) };
            Assert.True(updates[0].Payload.Length * 2 > 1 << 20, "the tiny payload must be over half the budget for this test");
            var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            c.Engine.SubmissionOpened += _ => opened.TrySetResult();
            using var first = attacker.Client.SubmitUpdate();
            await first.RequestStream.WriteAsync(Attacker.Header(keys[0], updates[0].Envelope));
            await opened.Task.WaitAsync(Patience);
            var e = await Assert.ThrowsAsync<RpcException>(() => attacker.SendAsync(keys[1], updates[1].Envelope, [updates[1].Payload]));
            Assert.Equal(RejectReason.Unavailable, Attacker.ReasonOf(e));
            await first.RequestStream.WriteAsync(new UpdateChunk { Data = ByteString.CopyFrom(updates[0].Payload) });
            await first.RequestStream.CompleteAsync();
            Assert.True((await first.ResponseAsync.WaitAsync(Patience)).Accepted);
            Assert.True((await attacker.SendAsync(keys[1], updates[1].Envelope, [updates[1].Payload])).Accepted); // budget released
        }
    }
}
