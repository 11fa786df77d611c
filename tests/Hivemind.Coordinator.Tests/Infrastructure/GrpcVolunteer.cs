using Google.Protobuf;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using CoordinatorClient = Hivemind.Protocol.V1.Coordinator.CoordinatorClient;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>The calls a hand-written client makes to join, lease and download, through the real gRPC service.</summary>
public static class GrpcVolunteer
{
    /// <summary>Challenge and signed join with the harness's declared memory on a CPU; returns the session token.</summary>
    public static async Task<string> JoinAsync(CoordinatorClient client, VolunteerIdentity identity)
    {
        var challenge = await client.GetChallengeAsync(new ChallengeRequest { ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey) });
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, EngineHarness.VolunteerMemory, "cpu", "");
        var join = await client.JoinAsync(new JoinRequest
        {
            ProtocolVersion = ProtocolVersion.Current, PublicKey = ByteString.CopyFrom(identity.PublicKey), Nonce = challenge.Nonce, RunId = challenge.RunId,
            Signature = ByteString.CopyFrom(signature), DeclaredMemoryBytes = EngineHarness.VolunteerMemory, Device = "cpu",
        });
        return join.SessionToken;
    }

    /// <summary>Joins and leases one unit, which the test expects to get.</summary>
    public static async Task<(string Session, WorkUnit Unit)> JoinAndLeaseAsync(CoordinatorClient client, VolunteerIdentity identity)
    {
        string session = await JoinAsync(client, identity);
        var work = await client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session });
        Assert.Equal(WorkReply.ResultOneofCase.WorkUnit, work.ResultCase);
        return (session, work.WorkUnit);
    }

    /// <summary>One DownloadParameters call, read and checked by the protocol's reader.</summary>
    public static async Task<(ParameterMetadata Metadata, byte[] Payload)> DownloadAsync(CoordinatorClient client, DownloadRequest request)
    {
        using var call = client.DownloadParameters(request);
        return await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, CancellationToken.None);
    }
}
