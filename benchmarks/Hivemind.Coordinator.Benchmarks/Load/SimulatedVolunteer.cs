using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using CoordinatorClient = Hivemind.Protocol.V1.Coordinator.CoordinatorClient;

namespace Hivemind.Coordinator.Benchmarks.Load;

/// <summary>
/// A volunteer without TorchSharp: joins, asks for work, downloads its shard, "trains" by waiting while it heartbeats,
/// then signs and streams a tiny random update. Every wire detail goes through the Protocol library (join signature,
/// envelope, signer, update stream, download reader), so protocol changes reach the load test by recompiling; this
/// class is the only place that speaks the protocol. Failures are handled as the real client handles them (<see cref="Backoff"/>:
/// exponential backoff with jitter, never shorter than the coordinator's retry advice; the session is kept unless the coordinator
/// says it is gone; a trained update is resubmitted rather than retrained).
/// </summary>
internal sealed class SimulatedVolunteer(CoordinatorClient client, VolunteerIdentity identity, LoadSettings settings, LoadStats stats, int seed)
{
    /// <summary>Size of each value of the fake update; far inside any norm bound.</summary>
    private const float UpdateScale = 1e-3f;

    /// <summary>A plausible mean loss for the envelope (bytes, nats).</summary>
    private const double ReportedLoss = 5.0;

    /// <summary>Deadline of every unary call.</summary>
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Submit attempts for one update, as the real client (<see cref="VolunteerClient.MaxSubmitAttempts"/>).</summary>
    private const int MaxSubmitAttempts = VolunteerClient.MaxSubmitAttempts;

    private readonly Random _rng = new(seed);
    private readonly Backoff _backoff = new(new Random(seed ^ 0x0BAC));
    private int _failures;
    private string _session = "";
    private TimeSpan _heartbeat = TimeSpan.FromSeconds(5);

    public int Submitted { get; private set; }

    /// <summary>Works until <paramref name="ct"/> fires; any failed call is counted by <see cref="LoadStats"/>, then the volunteer backs off and rejoins.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (_session.Length == 0) await JoinAsync(ct);
                await WorkOnceAsync(ct);
                _failures = 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && ct.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException e)
            {
                if (SessionLost(e)) _session = "";
                await Task.Delay(Wait(e), ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task JoinAsync(CancellationToken ct)
    {
        ulong memory = (ulong)settings.DeclaredMemory;
        var reply = await stats.TimeAsync("join (challenge + join)", async () =>
        {
            var challenge = await client.GetChallengeAsync(new ChallengeRequest
            {
                ProtocolVersion = ProtocolVersion.Current,
                PublicKey = ByteString.CopyFrom(identity.PublicKey),
            }, deadline: Deadline(), cancellationToken: ct);
            byte[] signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, challenge.RunId.Span, challenge.Nonce.Span, memory, "cpu", settings.AdmissionToken);
            return await client.JoinAsync(new JoinRequest
            {
                ProtocolVersion = ProtocolVersion.Current,
                PublicKey = ByteString.CopyFrom(identity.PublicKey),
                Nonce = challenge.Nonce,
                RunId = challenge.RunId,
                Signature = ByteString.CopyFrom(signature),
                DeclaredMemoryBytes = memory,
                Device = "cpu",
                AdmissionToken = settings.AdmissionToken,
                ClientName = "hivemind-load-test",
            }, deadline: Deadline(), cancellationToken: ct);
        });
        _session = reply.SessionToken;
        _heartbeat = TimeSpan.FromMilliseconds(Math.Max(1, reply.HeartbeatIntervalMs));
    }

    private async Task WorkOnceAsync(CancellationToken ct)
    {
        var reply = await LeaseAsync(ct);
        if (reply.ResultCase == WorkReply.ResultOneofCase.NoWork)
        {
            stats.CountNoWork();
            await Task.Delay(TimeSpan.FromMilliseconds(reply.NoWork.RetryAfterMs), ct);
            return;
        }
        var unit = reply.WorkUnit;
        var parameters = await stats.TimeAsync("download", () => DownloadAsync(unit, ct));
        await TrainAsync(unit.WorkUnitId, ct);
        var (envelope, payload) = Seal(unit, parameters);
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await stats.TimeAsync("submit", async () =>
                {
                    using var call = client.SubmitUpdate(deadline: Deadline(), cancellationToken: ct);
                    return await UpdateStream.SendAsync(call, UpdateStream.Messages(_session, envelope, payload));
                });
                Submitted++;
                return;
            }
            catch (RpcException e) when (attempt + 1 < MaxSubmitAttempts && !ct.IsCancellationRequested && WorthResubmitting(e))
            {
                // The same signed update again (a resend is idempotent on the coordinator); a lost session is rejoined first.
                if (SessionLost(e))
                {
                    _session = "";
                    await Task.Delay(Wait(e), ct);
                    await JoinAsync(ct);
                }
                else
                {
                    await Task.Delay(Wait(e), ct);
                }
            }
        }
    }

    /// <summary>
    /// One RequestWork call, timed as "lease (RequestWork)" and again by its outcome (a unit, or "no work"): most asks are "no work"
    /// replies, and the two have different server paths (only a unit waits for a durable commit).
    /// </summary>
    private async Task<WorkReply> LeaseAsync(CancellationToken ct)
    {
        const string Kind = "lease (RequestWork)";
        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        WorkReply reply;
        try
        {
            reply = await client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = _session }, deadline: Deadline(), cancellationToken: ct);
        }
        catch (RpcException e)
        {
            stats.CountFailure(Kind, e);
            throw;
        }
        double ms = System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        bool unit = reply.ResultCase == WorkReply.ResultOneofCase.WorkUnit;
        stats.Record(Kind, ms);
        stats.Record(unit ? "  lease → unit" : "  lease → no work", ms);
        stats.Calls.Enqueue((unit ? "lease-unit" : "lease-nowork", start, ms));
        if (ms > LoadStats.SlowLeaseMs) stats.SlowLeases.Enqueue((start, ms, unit));
        return reply;
    }

    /// <summary>The coordinator said the session is gone: join again (any other failure keeps it).</summary>
    private static bool SessionLost(RpcException e) =>
        RejectReasons.TryGetReason(e, out var reason) && reason is RejectReason.InvalidSession or RejectReason.UnknownVolunteer;

    /// <summary>Failures after which the real client resends the same update.</summary>
    private static bool WorthResubmitting(RpcException e)
    {
        if (!RejectReasons.TryGetReason(e, out var reason)) return Backoff.IsTransient(e.StatusCode);
        return reason is RejectReason.InvalidSession or RejectReason.UnknownVolunteer or RejectReason.CoordinatorStorage or RejectReason.Unavailable
            or RejectReason.SubmitInProgress or RejectReason.TooSlow or RejectReason.TruncatedStream or RejectReason.RateLimited;
    }

    /// <summary>Exponential backoff with jitter over consecutive failures, never shorter than the coordinator's retry advice (plus jitter).</summary>
    private TimeSpan Wait(RpcException e)
    {
        var wait = _backoff.Next(_failures++);
        if (RejectReasons.RetryAfter(e) is { } advice)
        {
            var jittered = advice * (1 + _rng.NextDouble());
            if (jittered > wait) wait = jittered;
        }
        return wait;
    }

    private async Task<ParameterSet> DownloadAsync(Protocol.V1.WorkUnit unit, CancellationToken ct)
    {
        using var call = client.DownloadParameters(new DownloadRequest
        {
            ProtocolVersion = ProtocolVersion.Current,
            SessionToken = _session,
            ModelVersion = unit.ModelVersion,
            WorkUnitId = unit.WorkUnitId,
        }, deadline: Deadline(), cancellationToken: ct);
        var (_, buffer) = await DownloadStream.ReadAsync(call.ResponseStream, ProtocolLimits.Default, ct);
        return TensorCodec.Decode(buffer, buffer.LongLength).Tensors;
    }

    /// <summary>The simulated training time, with heartbeats at the interval the coordinator asked for.</summary>
    private async Task TrainAsync(string workUnitId, CancellationToken ct)
    {
        var end = DateTime.UtcNow + settings.WorkTime;
        while (true)
        {
            var left = end - DateTime.UtcNow;
            if (left <= TimeSpan.Zero) return;
            await Task.Delay(left < _heartbeat ? left : _heartbeat, ct);
            if (DateTime.UtcNow >= end) return;
            await stats.TimeAsync("heartbeat", async () => await client.HeartbeatAsync(new HeartbeatRequest
            {
                ProtocolVersion = ProtocolVersion.Current,
                SessionToken = _session,
                WorkUnitId = workUnitId,
                InnerStep = 1,
                Loss = ReportedLoss,
            }, deadline: Deadline(), cancellationToken: ct));
        }
    }

    /// <summary>A small random pseudo-gradient with the shard's exact names and shapes, encoded and signed as the unit asks.</summary>
    private (SignedEnvelope Envelope, byte[] Payload) Seal(Protocol.V1.WorkUnit unit, ParameterSet parameters)
    {
        var update = new ParameterSet(parameters.Select(t =>
        {
            var values = new float[t.Count];
            for (int i = 0; i < values.Length; i++) values[i] = ((float)_rng.NextDouble() * 2 - 1) * UpdateScale;
            return new NamedTensor(t.Name, t.Shape, values);
        }));
        var codec = ProtoMapping.FromProto(unit.Codec);
        byte[] payload = TensorCodec.Encode(update, codec);
        var h = unit.Hyperparameters;
        ulong tokens = (ulong)h.InnerSteps * h.BatchSize * h.SequenceLength; // what the unit asked for, as an honest volunteer reports
        var envelope = new UpdateEnvelope(
            ProtocolVersion.Current, identity.PublicKey, unit.WorkUnitId, unit.Round, unit.ModelVersion,
            unit.Shard.Experts.Select(ProtoMapping.FromProto).ToList(), unit.Shard.IncludesTrunk, codec,
            (ulong)payload.Length, SHA256.HashData(payload), tokens, ReportedLoss, unit.RunId.ToByteArray());
        return (EnvelopeSigner.Sign(identity, envelope), payload);
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;
}
