using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Relay;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hivemind.Adversarial.Tests.Infrastructure;

/// <summary>How a hostile relay lies.</summary>
public enum RelayLie
{
    /// <summary>The requested hash in its metadata, one flipped byte in the data.</summary>
    WrongBytes,
    /// <summary>Corrupt data with metadata naming the corrupt data's own hash.</summary>
    WrongHash,
    /// <summary>Honest metadata, then half the data, then the end of the stream.</summary>
    Truncated,
    /// <summary>Accepts the call and never answers.</summary>
    Silent,
    /// <summary>FetchChunk: honest chunks except the first it is asked for, one flipped byte, signed with its own key (provable).</summary>
    BadChunkSigned,
    /// <summary>FetchChunk: like <see cref="BadChunkSigned"/>, with a signature that does not verify (so nothing proves the lie).</summary>
    BadChunkUnsigned,
}

/// <summary>A relay that registered legitimately (it signs Identify with its own key) and then serves lies, on 127.0.0.1.</summary>
public sealed class HostileRelay(VolunteerIdentity identity, RelayLie lie) : Protocol.V1.Relay.RelayBase, IAsyncDisposable
{
    private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;
    private int _requests;

    private int _liedAbout = -1;

    /// <summary>The chunk a chunk lie corrupted: the first one it was asked for (-1 before), so the lie is told whichever chunk a downloader asks first.</summary>
    public int LiedAbout => Volatile.Read(ref _liedAbout);

    /// <summary>The honest payload it downloaded from the coordinator (it lies with it).</summary>
    public byte[] Payload { get; set; } = [];

    public int Port { get; private set; }

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Completes when a downloader first asks it for parameters.</summary>
    public Task Asked => _asked.Task;

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddSingleton(this);
        builder.Services.AddGrpc();
        _app = builder.Build();
        _app.MapGrpcService<HostileRelay>();
        await _app.StartAsync();
        Port = new Uri(_app.Urls.First()).Port;
    }

    public override Task<RelayIdentifyReply> Identify(RelayIdentifyRequest request, ServerCallContext context) =>
        Task.FromResult(new RelayIdentifyReply
        {
            ProtocolVersion = ProtocolVersion.Current,
            PublicKey = ByteString.CopyFrom(identity.PublicKey),
            Signature = ByteString.CopyFrom(RelayIdentity.Sign(identity, request.Nonce.Span)),
        });

    public override async Task FetchParameters(RelayFetchRequest request, IServerStreamWriter<RelayChunk> responseStream, ServerCallContext context)
    {
        Interlocked.Increment(ref _requests);
        _asked.TrySetResult();
        var corrupt = Payload.ToArray();
        corrupt[corrupt.Length / 2] ^= 0x5a;
        switch (lie)
        {
            case RelayLie.WrongBytes:
                await SendAsync(responseStream, request, request.ContentSha256, corrupt);
                break;
            case RelayLie.WrongHash:
                await SendAsync(responseStream, request, ByteString.CopyFrom(SHA256.HashData(corrupt)), corrupt);
                break;
            case RelayLie.Truncated:
                await responseStream.WriteAsync(Info(request, request.ContentSha256, Payload.Length));
                await responseStream.WriteAsync(new RelayChunk { Data = ByteString.CopyFrom(Payload.AsSpan(0, Payload.Length / 2)) });
                break;
            case RelayLie.Silent:
                // Holds the call open until the downloader gives up (its cancellation ends the call).
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                break;
        }
    }

    public override Task<RelayChunkReply> FetchChunk(RelayChunkRequest request, ServerCallContext context)
    {
        if (lie is not (RelayLie.BadChunkSigned or RelayLie.BadChunkUnsigned)) return base.FetchChunk(request, context);
        Interlocked.Increment(ref _requests);
        _asked.TrySetResult();
        int offset = (int)(request.Index * request.ChunkBytes);
        var data = Payload.AsSpan(offset, Math.Min((int)request.ChunkBytes, Payload.Length - offset)).ToArray();
        if (Interlocked.CompareExchange(ref _liedAbout, (int)request.Index, -1) == -1) data[data.Length / 2] ^= 0x5a;
        var signature = Protocol.Relays.RelayChunkSignature.Sign(identity, request.ModelVersion, request.ContentSha256.Span, (int)request.ChunkBytes, (int)request.Index,
            SHA256.HashData(data));
        if (lie == RelayLie.BadChunkUnsigned) signature[0] ^= 0xff;
        return Task.FromResult(new RelayChunkReply { Data = ByteString.CopyFrom(data), Signature = ByteString.CopyFrom(signature) });
    }

    private static async Task SendAsync(IServerStreamWriter<RelayChunk> stream, RelayFetchRequest request, ByteString sha, byte[] data)
    {
        await stream.WriteAsync(Info(request, sha, data.Length));
        foreach (var chunk in data.Chunk(ProtocolLimits.DefaultChunkBytes))
            await stream.WriteAsync(new RelayChunk { Data = ByteString.CopyFrom(chunk) });
    }

    private static RelayChunk Info(RelayFetchRequest request, ByteString sha, long length) =>
        new() { Info = new RelayPayloadInfo { ModelVersion = request.ModelVersion, ContentSha256 = sha, TotalBytes = (ulong)length } };

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
