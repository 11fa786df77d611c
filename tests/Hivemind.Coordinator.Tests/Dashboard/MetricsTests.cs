using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>Scrapes <c>/metrics</c> after a real gRPC run with accepted and rejected updates and checks it against the ledger.</summary>
public sealed class MetricsTests
{
    [Fact]
    public async Task CountersMatchTheLedgerAfterARunWithRejections()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var c = await LoopbackCoordinator.StartAsync(p => EngineHarness.TinyOptions(p) with { Quorum = 2 }, time, new DashboardSettings(0) { Time = time });
        using var channel = GrpcChannel.ForAddress(c.Address);
        var client = new Protocol.V1.Coordinator.CoordinatorClient(channel);
        using var first = VolunteerIdentity.Create();
        using var second = VolunteerIdentity.Create();
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        c.Engine.RoundClosed += s => closed.TrySetResult();

        var (session1, update1) = await LeaseAndTrainAsync(c, client, first);
        int len1 = update1.Payload.Length;
        await AssertRejectedAsync(RejectReason.TruncatedStream, () => SendAsync(client, session1, update1, update1.Payload[..(len1 / 2)]));
        Assert.True((await SendAsync(client, session1, update1, update1.Payload)).Accepted);
        // An identical resend is idempotent (accepted again, not counted twice); different signed content is an equivocation.
        var forged = DashboardHarness.Resigned(first, update1);
        await AssertRejectedAsync(RejectReason.Equivocation, () => SendAsync(client, session1, forged, forged.Payload));
        await AssertRejectedAsync(RejectReason.InvalidSession, () => SendAsync(client, "not-a-session", update1, update1.Payload));
        var (session2, update2) = await LeaseAndTrainAsync(c, client, second);
        Assert.True((await SendAsync(client, session2, update2, update2.Payload)).Accepted);
        await closed.Task.WaitAsync(DashboardHarness.RoundTimeout);
        c.Services.GetRequiredService<SnapshotPublisher>().Refresh();

        using var http = new HttpClient { BaseAddress = new Uri(c.DashboardAddress!) };
        var metrics = Parse(await http.GetStringAsync("/metrics"));

        var store = c.Engine.Store;
        Assert.Equal(2, store.LedgerCount());
        Assert.Equal(store.LedgerCount(), metrics["hivemind_updates_total{result=\"accepted\",reason=\"\"}"]);
        var rejections = store.Rejections();
        Assert.Equal(3, rejections.Values.Sum());
        foreach (var (reason, count) in rejections)
            Assert.Equal(count, metrics[$"hivemind_updates_total{{result=\"rejected\",reason=\"{reason}\"}}"]);
        Assert.Equal(rejections.Values.Sum(), metrics.Where(m => m.Key.StartsWith("hivemind_updates_total{result=\"rejected\"", StringComparison.Ordinal)).Sum(m => m.Value));
        Assert.Equal(5, metrics["hivemind_submit_duration_seconds_count"]);
        // Payloads read in full: the truncated stream never completes and the equivocation is refused from its envelope,
        // before a payload byte is read (verify before read), so only the two accepted payloads count.
        Assert.Equal(len1 + update2.Payload.Length, metrics["hivemind_bytes_total{direction=\"in\"}"]);
        Assert.Equal(c.Engine.BytesSent, metrics["hivemind_bytes_total{direction=\"out\"}"]);
        Assert.Equal(1, metrics["hivemind_aggregation_duration_seconds_count"]);
        Assert.Equal(1, metrics["hivemind_round_close_duration_seconds_count"]);
        Assert.Equal(1, metrics["hivemind_round"]);
        Assert.Equal(1, metrics["hivemind_model_version"]);
        Assert.Equal(c.Engine.LastEvalLoss!.Value, metrics["hivemind_heldout_loss"], 9);
        Assert.Equal(c.Engine.OptimalLoss, metrics["hivemind_optimal_loss"], 9);
        Assert.Equal(2, metrics["hivemind_active_volunteers"]);
        // The runtime's and ASP.NET Core's standard metrics come along.
        Assert.Contains(metrics.Keys, k => k.StartsWith("process_cpu_seconds_total", StringComparison.Ordinal));
        Assert.Contains(metrics.Keys, k => k.StartsWith("dotnet_collection_count_total", StringComparison.Ordinal));
        Assert.Contains(metrics.Keys, k => k.Contains("http_server_request_duration", StringComparison.Ordinal) && k.Contains("SubmitUpdate", StringComparison.Ordinal));
    }

    /// <summary>Prometheus text format: "name{labels} value" per line, comments skipped.</summary>
    private static Dictionary<string, double> Parse(string text)
    {
        var map = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int space = line.LastIndexOf(' ');
            map[line[..space]] = double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
        }
        return map;
    }

    private static async Task AssertRejectedAsync(RejectReason expected, Func<Task<SubmitReply>> send)
    {
        var e = await Assert.ThrowsAsync<RpcException>(send);
        Assert.True(RejectReasons.TryGetReason(e, out var reason), $"no {RejectReasons.TrailerKey} trailer on {e.Status}");
        Assert.Equal(expected, reason);
    }

    internal static async Task<(string Session, TrainedUpdate Update)> LeaseAndTrainAsync(LoopbackCoordinator c, Protocol.V1.Coordinator.CoordinatorClient client, VolunteerIdentity identity)
    {
        string session = await GrpcVolunteer.JoinAsync(client, identity);
        var work = await client.RequestWorkAsync(new WorkRequest { ProtocolVersion = ProtocolVersion.Current, SessionToken = session });
        var unit = VolunteerClient.ToSpec(work.WorkUnit);
        return (session, WorkUnitRunner.Run(unit, c.Engine.ShardParameters(session, unit.Version, unit.Id), identity));
    }

    private static Task<SubmitReply> SendAsync(Protocol.V1.Coordinator.CoordinatorClient client, string session, TrainedUpdate update, byte[] payload) =>
        GrpcSubmit.SendAsync(client, session, update, [payload]);
}
