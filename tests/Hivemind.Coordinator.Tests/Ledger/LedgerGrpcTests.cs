using Google.Protobuf;
using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests.Ledger;

/// <summary>The receipt in a real SubmitReply, the Ledger service and the volunteer's own check, over gRPC on loopback.</summary>
public sealed class LedgerGrpcTests : IAsyncLifetime
{
    private LoopbackCoordinator _c = null!;
    private GrpcChannel _channel = null!;
    private Protocol.V1.Coordinator.CoordinatorClient _client = null!;
    private Protocol.V1.Ledger.LedgerClient _ledger = null!;
    private readonly VolunteerIdentity _identity = VolunteerIdentity.Create();

    public async Task InitializeAsync()
    {
        _c = await LoopbackCoordinator.StartAsync(EngineHarness.TinyOptions, new FakeTimeProvider(DateTimeOffset.UtcNow));
        _channel = GrpcChannel.ForAddress(_c.Address);
        _client = new Protocol.V1.Coordinator.CoordinatorClient(_channel);
        _ledger = new Protocol.V1.Ledger.LedgerClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        _identity.Dispose();
        await _c.DisposeAsync();
    }

    [Fact]
    public async Task An_acknowledgement_carries_a_receipt_that_an_independent_implementation_verifies()
    {
        var (session, update) = await LeaseAndTrainAsync();
        var reply = await GrpcSubmit.SendAsync(_client, session, update, [update.Payload]);
        Assert.True(reply.Accepted);
        var head = reply.LedgerTreeHead.FromWire();
        var pinned = (await _ledger.GetTreeHeadAsync(new TreeHeadRequest { ProtocolVersion = ProtocolVersion.Current })).PublicKey.ToByteArray();
        Assert.True(head.VerifySignature(pinned));
        Assert.Null(LedgerReceiptCheck.Verify(reply, update.Envelope.Bytes, pinned));

        // Outside the code base: python3's hashlib, from the RFC's definitions, on the entries the Ledger service serves.
        var entries = (await _ledger.GetEntriesAsync(new EntriesRequest { ProtocolVersion = ProtocolVersion.Current, Start = 0, End = (ulong)head.TreeSize }))
            .Entries.Select(e => e.ToByteArray()).ToList();
        var proof = reply.LedgerInclusionProof.Select(p => p.ToByteArray()).ToList();
        var (heads, inclusion, _) = Rfc9162Reference.Check(entries, [(head.TreeSize, head.RootHash)],
            [((long)reply.LedgerLeafIndex, head.TreeSize, proof, reply.LedgerEntry.ToByteArray())]);
        Assert.Equal([true], heads);
        Assert.Equal([true], inclusion);

        // Resending the same bytes gets the same answer, receipt included.
        var again = await GrpcSubmit.SendAsync(_client, session, update, [update.Payload]);
        Assert.Equal(reply.LedgerLeafIndex, again.LedgerLeafIndex);
        Assert.Null(LedgerReceiptCheck.Verify(again, update.Envelope.Bytes, pinned));
    }

    [Fact]
    public async Task The_volunteer_client_checks_the_receipt_of_each_acknowledgement()
    {
        var (client, view) = _c.Volunteer(maxUnits: 1);
        Assert.Equal(0, await client.RunAsync(CancellationToken.None).WaitAsync(TimeSpan.FromMinutes(3)));
        Assert.Single(view.Accepted);
        Assert.Equal((1, 0), (client.ReceiptsVerified, client.ReceiptsFailed));
        Assert.Empty(view.Errors);
    }

    [Fact]
    public async Task The_volunteer_refuses_a_receipt_that_does_not_prove_its_update()
    {
        var (session, update) = await LeaseAndTrainAsync();
        var reply = await GrpcSubmit.SendAsync(_client, session, update, [update.Payload]);
        byte[] key = reply.LedgerTreeHead.PublicKey.ToByteArray();
        Assert.Null(LedgerReceiptCheck.Verify(reply, update.Envelope.Bytes, key));

        var badProof = reply.Clone();
        var first = badProof.LedgerInclusionProof[0].ToByteArray();
        first[0] ^= 1;
        badProof.LedgerInclusionProof[0] = ByteString.CopyFrom(first);
        Assert.Contains("inclusion proof", LedgerReceiptCheck.Verify(badProof, update.Envelope.Bytes, key));

        using var other = VolunteerIdentity.Create();
        Assert.Contains("not signed by the coordinator key", LedgerReceiptCheck.Verify(reply, update.Envelope.Bytes, other.PublicKey));
        Assert.Contains("another envelope", LedgerReceiptCheck.Verify(reply, [.. update.Envelope.Bytes, 0], key));
        var missing = reply.Clone();
        missing.LedgerTreeHead = null;
        Assert.Contains("no ledger receipt", LedgerReceiptCheck.Verify(missing, update.Envelope.Bytes, key));
    }

    [Fact]
    public async Task The_ledger_service_answers_proofs_and_refuses_bad_ranges()
    {
        var (session, update) = await LeaseAndTrainAsync();
        await GrpcSubmit.SendAsync(_client, session, update, [update.Payload]);
        var head = (await _ledger.GetTreeHeadAsync(new TreeHeadRequest { ProtocolVersion = ProtocolVersion.Current })).FromWire();
        var byIndex = await _ledger.GetInclusionProofAsync(new InclusionProofRequest { ProtocolVersion = ProtocolVersion.Current, LeafIndex = 0 });
        Assert.True(MerkleProofs.VerifyInclusion(MerkleHash.Leaf(byIndex.Entry.Span), 0, (long)byIndex.TreeSize,
            byIndex.Proof.Select(p => p.ToByteArray()).ToList(), byIndex.TreeHead.RootHash.Span));
        var byHash = await _ledger.GetInclusionProofAsync(new InclusionProofRequest
        {
            ProtocolVersion = ProtocolVersion.Current, LeafHash = ByteString.CopyFrom(MerkleHash.Leaf(byIndex.Entry.Span)), TreeSize = (ulong)head.TreeSize,
        });
        Assert.Equal(0UL, byHash.LeafIndex);
        var consistency = await _ledger.GetConsistencyProofAsync(new ConsistencyProofRequest { ProtocolVersion = ProtocolVersion.Current, OldSize = 1, NewSize = (ulong)head.TreeSize });
        Assert.True(MerkleProofs.VerifyConsistency(1, head.TreeSize, MerkleHash.Leaf(byIndex.Entry.Span), head.RootHash, consistency.Proof.Select(p => p.ToByteArray()).ToList()));

        var e = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () =>
            await _ledger.GetConsistencyProofAsync(new ConsistencyProofRequest { ProtocolVersion = ProtocolVersion.Current, OldSize = 5, NewSize = 1_000_000 }));
        Assert.Contains("old_size <= new_size <=", e.Status.Detail);
    }

    private async Task<(string Session, TrainedUpdate Update)> LeaseAndTrainAsync()
    {
        var challenge = await _client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(_identity.PublicKey) });
        var signature = JoinChallenge.Sign(_identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, EngineHarness.VolunteerMemory, "cpu", "");
        var join = await _client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(_identity.PublicKey), Nonce = challenge.Nonce,
            Signature = ByteString.CopyFrom(signature), DeclaredMemoryBytes = EngineHarness.VolunteerMemory, Device = "cpu", RunId = challenge.RunId,
        });
        var work = await _client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = join.SessionToken });
        var unit = VolunteerClient.ToSpec(work.WorkUnit);
        var parameters = _c.Engine.ShardParameters(join.SessionToken, unit.Version, unit.Id);
        return (join.SessionToken, WorkUnitRunner.Run(unit, parameters, _identity));
    }
}
