using System.Net;
using Grpc.Core;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>Peer (a): the same gRPC service contract and Kestrel settings as the coordinator, whose SubmitUpdate only drains the stream.</summary>
internal sealed class SinkService : Protocol.V1.Coordinator.CoordinatorBase
{
    public override async Task<SubmitReply> SubmitUpdate(IAsyncStreamReader<UpdateChunk> requestStream, ServerCallContext context)
    {
        long received = 0;
        while (await requestStream.MoveNext(context.CancellationToken))
            received += requestStream.Current.Data.Length;
        return new SubmitReply { ProtocolVersion = ProtocolVersion.Current, Accepted = true, UpdateId = received.ToString(System.Globalization.CultureInfo.InvariantCulture) };
    }

    /// <summary>Kestrel on 127.0.0.1:0, cleartext HTTP/2, the coordinator's receive limit (see CoordinatorHost.Build); optionally larger HTTP/2 flow-control windows.</summary>
    public static WebApplication Build(int http2WindowBytes = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        var limits = ProtocolLimits.Default;
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2);
            k.Limits.MaxRequestBodySize = null;
            if (http2WindowBytes > 0)
            {
                // Kestrel's defaults are a 768 KiB stream and 1 MiB connection window: smaller than two 1 MiB chunks.
                k.Limits.Http2.InitialStreamWindowSize = http2WindowBytes;
                k.Limits.Http2.InitialConnectionWindowSize = 2 * http2WindowBytes;
            }
        });
        builder.Services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = limits.MaxChunkBytes + (64 << 10);
            o.MaxSendMessageSize = ProtocolLimits.DefaultChunkBytes + (64 << 10);
        });
        var app = builder.Build();
        app.MapGrpcService<SinkService>();
        return app;
    }
}
