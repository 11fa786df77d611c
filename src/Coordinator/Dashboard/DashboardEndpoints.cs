using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hivemind.Coordinator.Dashboard.Views;
using Hivemind.Coordinator.Metrics;
using Hivemind.Coordinator.Services;
using Prometheus;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// The dashboard's routes: the page and its assets, the JSON API (every list paginated, every reply from the latest
/// snapshot), a server-sent event stream that tells open pages when the snapshot changed, and <c>/metrics</c>.
/// </summary>
public static class DashboardEndpoints
{
    public const int DefaultPageSize = 50;

    public const int MaxPageSize = 1000;

    /// <summary>The chart series may come whole: 10,000 rounds are ~300 KB of JSON.</summary>
    public const int MaxSeriesLength = 100_000;

    /// <summary>An idle event stream sends a comment this often, so proxies and browsers keep it open.</summary>
    public static readonly TimeSpan EventStreamKeepAlive = TimeSpan.FromSeconds(15);

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        // A diverged model's loss is NaN or infinite; say so rather than fail the whole reply.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Map(WebApplication app, SnapshotPublisher snapshots, CoordinatorMetrics metrics, TransferBook transfers)
    {
        app.MapGet("/", () => Asset("index.html"));
        app.MapGet("/assets/{*path}", (string path) => Asset(path));
        app.MapGet("/api/status", () => Results.Json(snapshots.Current.Status, Json));
        app.MapGet("/api/rounds", (HttpRequest request) => Rounds(snapshots.Current, request));
        app.MapGet("/api/series", (HttpRequest request) => Series(snapshots.Current, request));
        app.MapGet("/api/rejections", (HttpRequest request) => Rejections(snapshots.Current, request));
        app.MapGet("/api/volunteers", (HttpRequest request) => Volunteers(snapshots.Current, request));
        app.MapGet("/api/events", (HttpContext context) => EventStream(context, snapshots));
        app.MapGet("/api/transfers", () => Transfers(transfers));
        app.MapMetrics("/metrics", metrics.Registry);
    }

    private static IResult Asset(string path) =>
        EmbeddedAssets.Find(path) is { } asset ? Results.Bytes(asset.Bytes, asset.ContentType) : Results.NotFound();

    /// <summary>Rounds newest first by default (<c>order=asc</c> for oldest first), <c>offset</c>/<c>limit</c> paginated.</summary>
    private static IResult Rounds(DashboardSnapshot s, HttpRequest request)
    {
        if (!TryPage(request, out int offset, out int limit, out var error)) return error!;
        string order = request.Query["order"].ToString();
        if (order is not ("" or "asc" or "desc"))
            return BadRequest($"order '{order}' is not asc or desc; use order=desc (newest first, the default) or order=asc.");
        var rounds = s.Rounds;
        int count = Math.Max(0, Math.Min(limit, rounds.Count - offset));
        var items = new RoundView[count];
        for (int i = 0; i < count; i++) items[i] = order == "asc" ? rounds[offset + i] : rounds[rounds.Count - 1 - offset - i];
        return Results.Json(new PageView<RoundView>(rounds.Count, offset, limit, items), Json);
    }

    /// <summary>Leaderboard order (credit, then accepted updates), <c>offset</c>/<c>limit</c> paginated.</summary>
    private static IResult Volunteers(DashboardSnapshot s, HttpRequest request)
    {
        if (!TryPage(request, out int offset, out int limit, out var error)) return error!;
        var all = s.Volunteers;
        var items = all.Skip(offset).Take(limit).ToArray();
        return Results.Json(new PageView<VolunteerView>(all.Count, offset, limit, items), Json);
    }

    /// <summary>Per-round chart series from round <c>from</c> (default 0), at most <c>limit</c> rounds.</summary>
    private static IResult Series(DashboardSnapshot s, HttpRequest request)
    {
        if (!TryLong(request, "from", 0, 0, long.MaxValue, out long from, out var error)) return error!;
        if (!TryLong(request, "limit", MaxSeriesLength, 1, MaxSeriesLength, out long limit, out error)) return error!;
        byte[] json = from == 0 && limit == MaxSeriesLength && s.FullSeriesJson is { } full ? full : SeriesJson(s, from, (int)limit);
        return Results.Bytes(json, "application/json; charset=utf-8");
    }

    /// <summary>The <see cref="SeriesView"/> of up to <paramref name="limit"/> rounds from <paramref name="from"/>, as UTF-8 JSON.</summary>
    public static byte[] SeriesJson(DashboardSnapshot s, long from, int limit)
    {
        int start = s.IndexOfRound(from);
        int count = Math.Min(limit, s.Rounds.Count - start);
        var round = new long[count];
        var eval = new float?[count];
        var train = new float?[count];
        var tokens = new long[count];
        for (int i = 0; i < count; i++)
        {
            var r = s.Rounds[start + i];
            (round[i], eval[i], train[i], tokens[i]) = (r.Round, (float?)r.EvalLoss, (float?)r.TrainLoss, r.Tokens);
        }
        return JsonSerializer.SerializeToUtf8Bytes(new SeriesView(from, s.Status.OptimalLoss, round, eval, train, tokens), Json);
    }

    /// <summary>Uploads and downloads in flight now, with bytes done and total per volunteer (a few entries: read live, not from the snapshot).</summary>
    private static IResult Transfers(TransferBook book)
    {
        var items = book.Current();
        return Results.Json(new TransfersView(items.Count(t => t.Direction == "upload"), items.Count(t => t.Direction == "download"),
            items.Sum(t => t.BytesDone), items.Sum(t => t.TotalBytes), items, book.Now), Json);
    }

    /// <summary>Rejections per round and reason since this process started, from round <c>from</c> (default 0).</summary>
    private static IResult Rejections(DashboardSnapshot s, HttpRequest request)
    {
        if (!TryLong(request, "from", 0, 0, long.MaxValue, out long from, out var error)) return error!;
        var rounds = s.RejectionsByRound.Keys.Where(r => r >= from).Order().ToArray();
        var reasons = rounds.SelectMany(r => s.RejectionsByRound[r].Keys).Distinct().Order(StringComparer.Ordinal).ToArray();
        var counts = reasons.ToDictionary(reason => reason, reason => rounds.Select(r => s.RejectionsByRound[r].GetValueOrDefault(reason)).ToArray(), StringComparer.Ordinal);
        return Results.Json(new RejectionSeriesView(from, rounds, counts), Json);
    }

    /// <summary>
    /// Server-sent events: one <c>snapshot</c> event now and one each time what the page shows changes (its data is
    /// the status), a comment every <see cref="EventStreamKeepAlive"/> otherwise. Ends when the client goes.
    /// </summary>
    private static async Task EventStream(HttpContext context, SnapshotPublisher snapshots)
    {
        var response = context.Response;
        response.Headers.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no";
        var ct = context.RequestAborted;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                // Take the change signal before reading the snapshot, so a change in between is not missed.
                var next = snapshots.NextChangeAsync(ct);
                await response.WriteAsync($"event: snapshot\ndata: {JsonSerializer.Serialize(snapshots.Current.Status, Json)}\n\n", ct);
                await response.Body.FlushAsync(ct);
                while (await Task.WhenAny(next, Task.Delay(EventStreamKeepAlive, ct)) != next)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                }
                await next;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The page was closed or the coordinator is stopping.
        }
    }

    private static bool TryPage(HttpRequest request, out int offset, out int limit, out IResult? error)
    {
        offset = limit = 0;
        if (!TryLong(request, "offset", 0, 0, int.MaxValue, out long o, out error)) return false;
        if (!TryLong(request, "limit", DefaultPageSize, 1, MaxPageSize, out long l, out error)) return false;
        (offset, limit) = ((int)o, (int)l);
        return true;
    }

    private static bool TryLong(HttpRequest request, string name, long fallback, long min, long max, out long value, out IResult? error)
    {
        error = null;
        value = fallback;
        string text = request.Query[name].ToString();
        if (text.Length == 0) return true;
        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out value) && value >= min && value <= max) return true;
        error = BadRequest($"{name} '{text}' is not a whole number from {min} to {max}; e.g. ?{name}={Math.Clamp(fallback, min, max)}.");
        return false;
    }

    private static IResult BadRequest(string message) => Results.Json(new ApiError(message), Json, statusCode: StatusCodes.Status400BadRequest);
}
