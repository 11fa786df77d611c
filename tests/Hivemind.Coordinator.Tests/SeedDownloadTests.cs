using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using WireCodec = Hivemind.Protocol.V1.Codec;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// First downloads from the seed (issue 16) through the real gRPC service on 127.0.0.1: a newcomer rebuilds θ_0 of its shard from the
/// unit's init_seed and downloads only the steps since version 0, ending bit-identical; a wrong θ_0 is caught by the unit's hash and
/// replaced by a full download; a coordinator without the steps, or whose steps are more bytes than the full shard, sends the full shard.
/// </summary>
public sealed class SeedDownloadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task ANewcomerAtALaterVersionDownloadsOnlyTheStepsSinceTheSeedAndEndsBitIdentical()
    {
        await using var c = await StartAsync(maxRounds: 3);
        await AdvanceAsync(c, versions: 2);
        var tap = Tap(tamperSeed: false);
        var (client, view) = c.Volunteer(maxUnits: 1, name: "newcomer", interceptor: tap);
        long before = c.Engine.BytesSent;

        Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Empty(view.Errors);
        Assert.Single(view.Accepted);
        var unit = Assert.Single(tap.Units).WorkUnit;
        Assert.Equal(2ul, unit.ModelVersion);
        Assert.Equal(unchecked((ulong)c.Engine.Options.Seed), unit.InitSeed);
        var (request, metadata, payload) = Assert.Single(tap.Downloads);
        Assert.True(request.HasHeldVersion);
        Assert.Equal(0ul, request.HeldVersion);
        Assert.Equal(0ul, metadata.BaseVersion);
        Assert.Equal(2u, metadata.StepCount);
        // Only the steps crossed the wire, and the coordinator counted exactly them: far fewer than the fp32 shard.
        Assert.Equal(payload.Length, c.Engine.BytesSent - before);
        Assert.Equal(payload.Length, Assert.Single(view.Transfers, t => t.What.StartsWith("download", StringComparison.Ordinal)).Bytes);
        var shard = VolunteerClient.ToSpec(unit).Shard;
        var model = VolunteerClient.ToSpec(unit).Model;
        var initial = ModelInit.Initialize(model, c.Engine.Options.Seed, shard);
        long fp32 = TensorCodec.Encode(initial, PayloadCodec.Fp32).LongLength;
        Assert.True(payload.Length * 4 < fp32, $"{payload.Length} bytes of steps against {fp32} of fp32 parameters");
        // Independently of the volunteer's own check: θ_0 from the seed plus the steps hashes to the coordinator's parameters.
        ParameterSteps.ApplyAll(initial, payload, (int)metadata.StepCount, ProtocolLimits.Default.MaxDownloadBytes);
        Assert.Equal(unit.ParametersSha256.ToByteArray(), SHA256.HashData(TensorCodec.Encode(initial, PayloadCodec.Fp32)));
    }

    [Fact]
    public async Task ATamperedSeedIsCaughtByTheUnitsHashAndTheNewcomerDownloadsInFullOnce()
    {
        await using var c = await StartAsync(maxRounds: 3);
        await AdvanceAsync(c, versions: 2);
        var tap = Tap(tamperSeed: true);
        var (client, view) = c.Volunteer(maxUnits: 1, name: "tampered", interceptor: tap);

        Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Empty(view.Errors);
        Assert.Single(view.Accepted);
        var unit = Assert.Single(tap.Units).WorkUnit;
        Assert.Equal(2, tap.Downloads.Count);
        // First the steps onto the wrong θ_0 (refused by the hash), then the full shard, without offering the seed again.
        Assert.Equal(0ul, tap.Downloads[0].Request.HeldVersion);
        Assert.Equal(2u, tap.Downloads[0].Metadata.StepCount);
        Assert.False(tap.Downloads[1].Request.HasHeldVersion);
        Assert.Equal(0u, tap.Downloads[1].Metadata.StepCount);
        Assert.Equal(WireCodec.Fp32ShuffleZstd, tap.Downloads[1].Metadata.Codec);
        Assert.Single(view.Waits, w => w.Contains("from the seed", StringComparison.Ordinal) && w.Contains("parameters_sha256", StringComparison.Ordinal));
        // What it trained on and cached is the coordinator's version 2, bit for bit.
        byte[] fp32 = Fp32ShuffleZstd.Decode(tap.Downloads[1].Payload, ProtocolLimits.Default.MaxDownloadBytes);
        Assert.Equal(unit.ParametersSha256.ToByteArray(), SHA256.HashData(fp32));
        string hash = Convert.ToHexStringLower(unit.ParametersSha256.Span);
        var cached = Assert.Single(Directory.GetDirectories(c.Scratch, "cache-tampered-*").SelectMany(d => Directory.GetFiles(d, "*.bin")));
        Assert.Equal(hash + ".bin", Path.GetFileName(cached));
        Assert.Equal(hash, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(cached))));
    }

    [Fact]
    public async Task ACoordinatorThatNoLongerKeepsTheStepsSinceVersion0SendsTheFullShard()
    {
        await using var c = await StartAsync(maxRounds: 3, maxDownloadSteps: 1);
        await AdvanceAsync(c, versions: 2);
        var tap = Tap(tamperSeed: false);
        var (client, view) = c.Volunteer(maxUnits: 1, name: "late", interceptor: tap);

        Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Empty(view.Errors);
        Assert.Single(view.Accepted);
        var unit = Assert.Single(tap.Units).WorkUnit;
        var (request, metadata, payload) = Assert.Single(tap.Downloads);
        Assert.Equal(0ul, request.HeldVersion); // offered θ_0, but step 0 → 1 is gone
        Assert.Equal(0u, metadata.StepCount);
        Assert.Equal(WireCodec.Fp32ShuffleZstd, metadata.Codec);
        Assert.Equal(unit.ParametersSha256.ToByteArray(), SHA256.HashData(Fp32ShuffleZstd.Decode(payload, ProtocolLimits.Default.MaxDownloadBytes)));
    }

    [Fact]
    public async Task TheCoordinatorSendsStepsOnlyWhenTheyAreFewerBytesThanTheFullShardItWouldSend()
    {
        // int8 steps are about a quarter of fp32 each: four of them outweigh the compressed (≈ 0.85 × fp32) and even the plain shard.
        await using var c = await StartAsync(maxRounds: 5, codec: "int8", downloadCodec: "int8");
        await AdvanceAsync(c, versions: 4);
        using var channel = GrpcChannel.ForAddress(c.Address);
        var client = new Protocol.V1.Coordinator.CoordinatorClient(channel);
        using var identity = VolunteerIdentity.Create();
        // AdvanceAsync returned after the round close published the version, so the next round's unit is free.
        var (session, unit) = await GrpcVolunteer.JoinAndLeaseAsync(client, identity);
        Assert.Equal(4ul, unit.ModelVersion);

        // An older client (no held version, no compressed codec) and this build's full download, for reference.
        var (plainMeta, plain) = await GrpcVolunteer.DownloadAsync(client, Request(session, unit, held: null, compressed: false));
        Assert.Equal((0u, WireCodec.Fp32), (plainMeta.StepCount, plainMeta.Codec));
        var (fullMeta, full) = await GrpcVolunteer.DownloadAsync(client, Request(session, unit, held: null, compressed: true));
        Assert.Equal((0u, WireCodec.Fp32ShuffleZstd), (fullMeta.StepCount, fullMeta.Codec));

        // One int8 step's bytes (every step has the same size: it depends only on the shapes), from a volunteer that holds version 3.
        var (oneMeta, one) = await GrpcVolunteer.DownloadAsync(client, Request(session, unit, held: 3, compressed: true));
        Assert.Equal(1u, oneMeta.StepCount);
        long step = one.Length;
        for (ulong held = 0; held < 3; held++)
        {
            uint behind = 4 - (uint)held;
            var (meta, bytes) = await GrpcVolunteer.DownloadAsync(client, Request(session, unit, held, compressed: true));
            // The rule, computed here from what the coordinator sent: steps exactly when they are fewer bytes than the full shard.
            Assert.Equal(behind * step < full.Length ? behind : 0u, meta.StepCount);
            if (meta.StepCount == 0) Assert.Equal(full, bytes);
            else Assert.Equal(behind * step, bytes.Length);
        }
        // Both sides of the rule are exercised: θ_0 from the seed plus four int8 steps would be more bytes than the full shard, compressed
        // or not, so the newcomer gets the full shard; three steps (from version 1) are fewer than the compressed shard, so steps.
        Assert.True(4 * step > plain.Length, $"four steps of {step} B against {plain.Length} B");
        Assert.True(3 * step < full.Length, $"three steps of {step} B against {full.Length} B compressed");
        var (fromSeedPlain, seedPlain) = await GrpcVolunteer.DownloadAsync(client, Request(session, unit, held: 0, compressed: false));
        Assert.Equal((0u, WireCodec.Fp32), (fromSeedPlain.StepCount, fromSeedPlain.Codec));
        Assert.Equal(plain, seedPlain);
    }

    private static Task<LoopbackCoordinator> StartAsync(int maxRounds, int maxDownloadSteps = 16, string codec = "topk4", string downloadCodec = "topk4") =>
        LoopbackCoordinator.StartAsync(dir => EngineHarness.TinyOptions(dir) with
        {
            MaxRounds = maxRounds,
            Quorum = 1,
            Codec = codec,
            CodecDensity = 0.03,
            DownloadCodec = downloadCodec,
            DownloadDensity = 0.03,
            MaxDownloadSteps = maxDownloadSteps,
            MaxDownloadsPerLease = 16,
            SeedDownloads = true,
        });

    /// <summary>One volunteer trains until the coordinator is at <paramref name="versions"/> (quorum 1: each accepted unit closes a round).</summary>
    private static async Task AdvanceAsync(LoopbackCoordinator c, int versions)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        c.Engine.RoundClosed += s =>
        {
            if (s.NewVersion >= versions) reached.TrySetResult();
        };
        var (client, view) = c.Volunteer(maxUnits: versions, name: "first");
        Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));
        await reached.Task.WaitAsync(Bound);
        Assert.Empty(view.Errors);
        // The first volunteer itself rebuilt version 0 from the seed (no bytes) and then took one step per version.
        Assert.Equal(0, Assert.Single(view.Transfers, t => t.What == "download (θ_0 from the seed)").Bytes);
        Assert.Equal(versions - 1, view.Transfers.Count(t => t.What == "download (1 steps)"));
    }

    private static DownloadRequest Request(string session, WorkUnit unit, ulong? held, bool compressed)
    {
        var request = new DownloadRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId };
        if (compressed) request.AcceptedFullCodecs.Add(WireCodec.Fp32ShuffleZstd);
        if (held is { } v)
        {
            request.HeldVersion = v;
            request.HeldExperts.AddRange(unit.Shard.Experts);
        }
        return request;
    }

    /// <summary>Records a volunteer's work replies and downloads; with <c>tamperSeed</c>, its work replies arrive with init_seed + 1 (a wrong θ_0).</summary>
    private static DownloadRecorder Tap(bool tamperSeed) => new(alterUnit: tamperSeed ? WrongSeed : null);

    private static WorkReply WrongSeed(WorkReply work)
    {
        work.WorkUnit.InitSeed = unchecked(work.WorkUnit.InitSeed + 1);
        return work;
    }
}
