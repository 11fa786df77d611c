using System.Text.Json;
using Google.Protobuf;
using Grpc.Net.Client;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Services;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary><c>/api/transfers</c>: uploads and downloads in flight through the real gRPC service, with bytes done and total per volunteer.</summary>
public sealed class TransfersApiTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AnUploadAndADownloadInFlightShowTheirBytesAndLeaveWhenDone()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var c = await LoopbackCoordinator.StartAsync(p => EngineHarness.TinyOptions(p) with { Quorum = 2 }, time, new DashboardSettings(0) { Time = time });
        var book = c.Services.GetRequiredService<TransferBook>();
        using var channel = GrpcChannel.ForAddress(c.Address);
        var client = new Protocol.V1.Coordinator.CoordinatorClient(channel);
        using var http = new HttpClient { BaseAddress = new Uri(c.DashboardAddress!) };
        using var identity = VolunteerIdentity.Create();
        var (session, update) = await MetricsTests.LeaseAndTrainAsync(c, client, identity);
        string volunteerId = VolunteerIds.FromPublicKey(identity.PublicKey);
        string unitId = update.Envelope.Envelope.WorkUnitId;
        int half = update.Payload.Length / 2;

        // Download (while the lease is live): read the metadata and the first chunk only; the service has counted at least that chunk.
        // The entry is read inside the signal: a small shard's download may be over by the time the test looks again.
        Hivemind.Coordinator.Dashboard.Views.TransferView? seen = null;
        var downloading = Signal(book, () => (seen ??= book.Current().FirstOrDefault(t => t.Direction == "download" && t.BytesDone > 0)) is not null);
        using var download = client.DownloadParameters(new DownloadRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = session, ModelVersion = update.Envelope.Envelope.ModelVersion, WorkUnitId = unitId,
        });
        Assert.True(await download.ResponseStream.MoveNext(CancellationToken.None));
        ulong total = download.ResponseStream.Current.Metadata.TotalBytes;
        Assert.True(await download.ResponseStream.MoveNext(CancellationToken.None));
        await downloading.WaitAsync(Patience);
        var entry = seen!;
        Assert.Equal(volunteerId, entry.VolunteerId);
        Assert.Equal((long)total, entry.TotalBytes);
        Assert.InRange(entry.BytesDone, 1, (long)total);
        download.Dispose();

        // Upload: the header and half the payload, then wait (on the book's own signal) until the service has counted them.
        var halfIn = Signal(book, () => book.Current().Any(t => t.Direction == "upload" && t.BytesDone == half));
        using var call = client.SubmitUpdate();
        await call.RequestStream.WriteAsync(new UpdateChunk
        {
            Header = new UpdateHeader
            {
                ProtocolVersion = ProtocolVersion.Current, SessionToken = session,
                Envelope = ByteString.CopyFrom(update.Envelope.Bytes), Signature = ByteString.CopyFrom(update.Envelope.Signature),
            },
        });
        await call.RequestStream.WriteAsync(new UpdateChunk { Data = ByteString.CopyFrom(update.Payload, 0, half) });
        await halfIn.WaitAsync(Patience);
        using (var doc = JsonDocument.Parse(await http.GetStringAsync("/api/transfers")))
        {
            var root = doc.RootElement;
            Assert.Equal(1, root.GetProperty("uploads").GetInt32());
            var item = Assert.Single(Uploads(root));
            Assert.Equal("upload", item.GetProperty("direction").GetString());
            Assert.Equal(volunteerId, item.GetProperty("volunteerId").GetString());
            Assert.Equal(unitId, item.GetProperty("workUnitId").GetString());
            Assert.Equal(half, item.GetProperty("bytesDone").GetInt64());
            Assert.Equal(update.Payload.Length, item.GetProperty("totalBytes").GetInt64());
            Assert.DoesNotContain(session, doc.RootElement.GetRawText(), StringComparison.Ordinal);
        }
        await call.RequestStream.WriteAsync(new UpdateChunk { Data = ByteString.CopyFrom(update.Payload, half, update.Payload.Length - half) });
        await call.RequestStream.CompleteAsync();
        Assert.True((await call.ResponseAsync.WaitAsync(Patience)).Accepted);
        using (var doc = JsonDocument.Parse(await http.GetStringAsync("/api/transfers")))
            Assert.Empty(Uploads(doc.RootElement)); // the entry leaves before the reply is sent
    }

    private static IEnumerable<JsonElement> Uploads(JsonElement root) =>
        root.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("direction").GetString() == "upload").ToList();

    /// <summary>Completes once <paramref name="condition"/> holds, checked now and after every change of the book.</summary>
    private static Task Signal(TransferBook book, Func<bool> condition)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        book.Changed += () =>
        {
            if (condition()) done.TrySetResult();
        };
        if (condition()) done.TrySetResult();
        return done.Task;
    }
}
