using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Streaming;
using Hivemind.Protocol.Tensors;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using WireCodec = Hivemind.Protocol.V1.Codec;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// Compressed full downloads (issue 16, CODEC_FP32_SHUFFLE_ZSTD) through the real gRPC service on 127.0.0.1: a volunteer that asks
/// gets them and ends with exactly the coordinator's parameters, an older client gets plain fp32, and a tampered stream is refused.
/// </summary>
public sealed class CompressedDownloadTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task AnOlderClientGetsFp32AndOneThatAsksGetsTheCompressedFormOfTheSameBytes()
    {
        await using var c = await LoopbackCoordinator.StartAsync(EngineHarness.TinyOptions);
        using var channel = GrpcChannel.ForAddress(c.Address);
        var client = new Protocol.V1.Coordinator.CoordinatorClient(channel);
        using var identity = VolunteerIdentity.Create();
        var (session, unit) = await GrpcVolunteer.JoinAndLeaseAsync(client, identity);
        var request = new DownloadRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session, ModelVersion = unit.ModelVersion, WorkUnitId = unit.WorkUnitId };

        long before = c.Engine.BytesSent;
        var (plainMeta, plain) = await GrpcVolunteer.DownloadAsync(client, request);
        Assert.Equal(WireCodec.Fp32, plainMeta.Codec);
        Assert.Equal(unit.ParametersSha256.ToByteArray(), SHA256.HashData(plain));

        request.AcceptedFullCodecs.Add(WireCodec.Fp32ShuffleZstd);
        long middle = c.Engine.BytesSent;
        var (meta, compressed) = await GrpcVolunteer.DownloadAsync(client, request);
        Assert.Equal(WireCodec.Fp32ShuffleZstd, meta.Codec);
        Assert.Equal(0u, meta.StepCount);
        Assert.Equal(meta.ContentSha256.ToByteArray(), SHA256.HashData(compressed)); // content_sha256 covers the bytes as sent
        Assert.Equal(plain, Fp32ShuffleZstd.Decode(compressed, ProtocolLimits.Default.MaxDownloadBytes)); // bit for bit the fp32 payload
        Assert.Equal(plainMeta.Tensors, meta.Tensors);
        Assert.True(compressed.Length < plain.Length, $"{compressed.Length} compressed bytes for {plain.Length}");
        Assert.Equal(plain.Length, middle - before);
        Assert.Equal(compressed.Length, c.Engine.BytesSent - middle); // the coordinator counts what it sent
    }

    [Fact]
    public async Task ANewcomerDownloadsCompressedAndTrainsOnExactlyTheCoordinatorsParameters()
    {
        await using var c = await LoopbackCoordinator.StartAsync(EngineHarness.TinyOptions);
        var tap = DownloadTap(tamper: false);
        var (client, view) = c.Volunteer(maxUnits: 1, interceptor: tap);

        Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Empty(view.Errors);
        Assert.Single(view.Accepted);
        var (request, metadata, payload) = Assert.Single(tap.Downloads);
        Assert.Contains(WireCodec.Fp32ShuffleZstd, request.AcceptedFullCodecs);
        Assert.Equal(WireCodec.Fp32ShuffleZstd, metadata.Codec);
        var unit = Assert.Single(tap.Units).WorkUnit;
        byte[] fp32 = Fp32ShuffleZstd.Decode(payload, ProtocolLimits.Default.MaxDownloadBytes);
        // The unit's hash is the coordinator's SHA-256 of its fp32 parameters: equal hashes mean bit-identical parameters.
        Assert.Equal(unit.ParametersSha256.ToByteArray(), SHA256.HashData(fp32));
        var download = Assert.Single(view.Transfers, t => t.What.StartsWith("download", StringComparison.Ordinal));
        Assert.StartsWith("download (compressed", download.What, StringComparison.Ordinal);
        Assert.Equal(payload.Length, download.Bytes);
    }

    [Fact]
    public async Task ATamperedCompressedStreamWithARecomputedContentHashIsRefusedAndNothingIsKept()
    {
        await using var c = await LoopbackCoordinator.StartAsync(EngineHarness.TinyOptions);
        var tap = DownloadTap(tamper: true);
        var (client, view) = c.Volunteer(maxUnits: 1, interceptor: tap);

        // The first download is tampered with; the volunteer refuses it, backs off and downloads again (untouched), then trains.
        Assert.Equal(ExitCodes.Ok, await client.RunAsync(CancellationToken.None).WaitAsync(Bound));

        Assert.Equal(2, tap.Downloads.Count);
        var error = Assert.Single(view.Errors);
        Assert.Contains("compressed download", error, StringComparison.Ordinal);
        Assert.Contains("parameters_sha256", error, StringComparison.Ordinal);
        Assert.Single(view.Accepted);
        // Only the good download was recorded as a transfer; the refused one left nothing behind.
        Assert.Single(view.Transfers, t => t.What.StartsWith("download", StringComparison.Ordinal));
    }

    /// <summary>
    /// Records the volunteer's work replies and downloads; with <c>tamper</c>, its first download reaches it with one byte of the first
    /// stored plane flipped and content_sha256 recomputed, as a man in the middle would send it: only the unit's own hash can tell.
    /// </summary>
    private static DownloadRecorder DownloadTap(bool tamper) => new(alterDownload: tamper ? FlipFirstStoredByte : null);

    private static (ParameterMetadata, byte[])? FlipFirstStoredByte(int index, ParameterMetadata metadata, byte[] payload)
    {
        if (index != 0 || metadata.Codec != WireCodec.Fp32ShuffleZstd) return null;
        payload[HeaderBytes(metadata) + 5] ^= 0x01; // first byte of block 0's plane 0 (stored): still decodes, to other values
        metadata.ContentSha256 = ByteString.CopyFrom(SHA256.HashData(payload));
        return (metadata, payload);
    }

    /// <summary>The payload header's length: "HMTP" | format | codec | parameter | count, then per tensor its name and shape.</summary>
    private static int HeaderBytes(ParameterMetadata metadata) =>
        12 + metadata.Tensors.Sum(t => 2 + Encoding.UTF8.GetByteCount(t.Name) + 1 + 8 * t.Shape.Count);
}
