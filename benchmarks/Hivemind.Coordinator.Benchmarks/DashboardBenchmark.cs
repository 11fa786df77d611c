using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol.Identity;
using Microsoft.Data.Sqlite;

namespace Hivemind.Coordinator.Benchmarks;

/// <summary>
/// Issue 14: the dashboard's JSON API on a large store (default 1,000 volunteers, 10,000 rounds, 8 accepted updates per
/// round), served by the real host. Each endpoint is called sequentially over keep-alive HTTP/1.1 and its latency
/// percentiles are printed, next to the time of one incremental snapshot refresh and the first full load.
/// </summary>
internal static class DashboardBenchmark
{
    /// <summary>Updates per round in the generated ledger (like a quorum of 8).</summary>
    private const int UpdatesPerRound = 8;

    /// <summary>Every 50th round has a rejection, every 100th volunteer is banned: the rare rows the page shows.</summary>
    private const int RejectionEvery = 50;

    private const int BanEvery = 100;

    public static async Task<int> RunAsync(Args args, string root)
    {
        int volunteers = args.Get("--volunteers", 1000);
        int rounds = args.Get("--rounds", 10_000);
        int requests = args.Get("--requests", 500);
        int warmup = args.Get("--warmup", 50);
        var options = new CoordinatorOptions
        {
            DataDirectory = Path.Combine(root, "data"),
            Preset = "tiny",
            EvalBatches = 1,
            Quorum = UpdatesPerRound,
            // Spot checks (on by default) pinned off: the benchmark times the dashboard's queries, not recomputations on the side.
            SpotCheckProbability = 0,
            SpotCheckProbationProbability = 0,
        };
        Console.WriteLine($"generating a store with {volunteers:N0} volunteers, {rounds:N0} rounds, {rounds * (long)UpdatesPerRound:N0} ledger rows ...");
        var watch = Stopwatch.StartNew();
        CoordinatorEngine.Open(options, TimeProvider.System).Dispose(); // schema, round 0, checkpoint v0
        Generate(Path.Combine(options.DataDirectory, "coordinator.db"), volunteers, rounds);
        // The engine restores the last round's version from its checkpoint; the generated history reuses v0's parameters.
        string checkpoints = Path.Combine(options.DataDirectory, "checkpoints");
        foreach (string file in Directory.GetFiles(checkpoints, "v000000.*"))
            File.Copy(file, Path.Combine(checkpoints, Path.GetFileName(file).Replace("v000000", $"v{rounds:D6}", StringComparison.Ordinal)));
        Console.WriteLine($"generated in {watch.Elapsed.TotalSeconds:0.0} s; opening the coordinator with its dashboard ...");

        using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
        watch.Restart();
        await using var app = CoordinatorHost.Build(engine, new ListenSettings("127.0.0.1", 0), l => l.ClearProviders(), new DashboardSettings(0));
        await app.StartAsync();
        var publisher = app.Services.GetRequiredService<SnapshotPublisher>();
        while (publisher.Current.Status.Round != rounds)
        {
            if (watch.Elapsed > TimeSpan.FromMinutes(5)) throw new TimeoutException("the first snapshot did not appear within 5 minutes");
            await Task.Delay(10);
        }
        double firstLoad = watch.Elapsed.TotalSeconds;
        var refresh = new Samples("incremental snapshot refresh");
        for (int i = 0; i < 20; i++)
        {
            long t = Stopwatch.GetTimestamp();
            publisher.Refresh();
            refresh.Add(Stopwatch.GetElapsedTime(t));
        }

        using var http = new HttpClient { BaseAddress = new Uri(app.DashboardAddress()!) };
        string[] paths =
        [
            "/api/status", "/api/rounds?limit=50", $"/api/rounds?offset={rounds / 2}&limit=50", "/api/volunteers?limit=50",
            $"/api/volunteers?offset={volunteers - 50}&limit=50", $"/api/series?from={rounds - 10}", "/api/series", "/api/rejections", "/metrics",
        ];
        Console.WriteLine();
        Console.WriteLine($"## dashboard API: {volunteers:N0} volunteers, {rounds:N0} rounds, {requests} sequential requests per endpoint (+{warmup} warm-up), {Machine.Load()}");
        Console.WriteLine();
        Console.WriteLine($"first snapshot (full read of the store) {firstLoad * 1e3:0} ms after start; incremental refresh median {Format.Ms(refresh.Median)} ms, best {Format.Ms(refresh.Best)} ms");
        Console.WriteLine();
        Console.WriteLine("| endpoint | bytes | p50 ms | p99 ms | max ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        var api = new List<double>();
        var scrape = new List<double>();
        foreach (string path in paths)
        {
            long size = 0;
            var times = new List<double>();
            for (int i = 0; i < warmup + requests; i++)
            {
                long t = Stopwatch.GetTimestamp();
                using var response = await http.GetAsync(path);
                byte[] body = await response.Content.ReadAsByteArrayAsync();
                double ms = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{path}: HTTP {(int)response.StatusCode}");
                size = body.Length;
                if (i >= warmup) times.Add(ms);
            }
            (path.StartsWith("/api/", StringComparison.Ordinal) ? api : scrape).AddRange(times);
            Console.WriteLine($"| `{path}` | {size:N0} | {P(times, 0.50)} | {P(times, 0.99)} | {P(times, 1.0)} |");
        }
        double p99 = Percentile(api, 0.99);
        Console.WriteLine();
        Console.WriteLine($"JSON API (/api/*, all endpoints together): p99 {p99.ToString("0.0", CultureInfo.InvariantCulture)} ms; target < 50 ms: {(p99 < 50 ? "MET" : "NOT MET")}");
        Console.WriteLine($"/metrics (Prometheus scrape, runtime and ASP.NET Core meters included): p99 {P(scrape, 0.99)} ms");
        await app.StopAsync();
        return 0;
    }

    private static string P(List<double> times, double q) => Percentile(times, q).ToString("0.0", CultureInfo.InvariantCulture);

    private static double Percentile(List<double> times, double q)
    {
        var sorted = times.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];
    }

    /// <summary>Writes the run's history straight into the store's tables in one transaction (the engine's API commits row by row).</summary>
    private static void Generate(string database, int volunteers, int rounds)
    {
        var rng = new Random(14);
        using var db = new SqliteConnection($"Data Source={database};Pooling=False");
        db.Open();
        using var tx = db.BeginTransaction();
        SqliteCommand Command(string sql)
        {
            var c = db.CreateCommand();
            c.Transaction = tx;
            c.CommandText = sql;
            return c;
        }
        using (var clear = Command("DELETE FROM rounds")) clear.ExecuteNonQuery();
        var ids = new string[volunteers];
        using (var insert = Command("INSERT INTO volunteers(id, public_key, device, memory_bytes, joined_at, reputation, banned, ban_reason) VALUES($id, $pk, 'cpu', $mem, $at, $rep, $ban, $why)"))
        using (var evidence = Command("INSERT INTO evidence(volunteer_id, at, reason) VALUES($id, $at, $why)"))
        {
            for (int i = 0; i < volunteers; i++)
            {
                byte[] key = RandomNumberGenerator.GetBytes(VolunteerIdentity.PublicKeyBytes);
                ids[i] = VolunteerIds.FromPublicKey(key);
                bool banned = i % BanEvery == BanEvery - 1;
                insert.Parameters.Clear();
                insert.Parameters.AddWithValue("$id", ids[i]);
                insert.Parameters.AddWithValue("$pk", key);
                insert.Parameters.AddWithValue("$mem", 2L << 30);
                insert.Parameters.AddWithValue("$at", 1_700_000_000_000L + i);
                insert.Parameters.AddWithValue("$rep", banned ? -3.5 : rng.NextDouble() * 3);
                insert.Parameters.AddWithValue("$ban", banned ? 1 : 0);
                insert.Parameters.AddWithValue("$why", banned ? "reputation -3.5: updates far from the robust aggregate" : DBNull.Value);
                insert.ExecuteNonQuery();
                if (!banned) continue;
                evidence.Parameters.Clear();
                evidence.Parameters.AddWithValue("$id", ids[i]);
                evidence.Parameters.AddWithValue("$at", 1_700_000_500_000L + i);
                evidence.Parameters.AddWithValue("$why", "reputation -3.5: updates far from the robust aggregate");
                evidence.ExecuteNonQuery();
            }
        }
        byte[] blob = new byte[64];
        using (var round = Command("INSERT INTO rounds(round, version, opened_at, closed_at, updates, train_loss, eval_loss, checkpoint) VALUES($r, $r, $open, $close, $n, $tl, $el, $cp)"))
        using (var unit = Command("INSERT INTO work_units(id, round, version, volunteer_id, shard, unit_index, issued_at, deadline, state) VALUES($id, $r, $r, $vol, 'trunk', $idx, $at, $dl, 'completed')"))
        using (var update = Command("INSERT INTO updates(work_unit_id, volunteer_id, round, version, envelope, signature, payload_path, payload_bytes, tokens, loss, accepted_at) VALUES($id, $vol, $r, $r, $blob, $blob, 'none', 400000, 5120, 2.5, $at)"))
        {
            long t0 = 1_700_000_000_000L;
            for (int r = 0; r <= rounds; r++)
            {
                long open = t0 + r * 10_000L;
                bool closed = r < rounds;
                double loss = 1.2 + 4.4 * Math.Exp(-r / 800.0);
                round.Parameters.Clear();
                round.Parameters.AddWithValue("$r", r);
                round.Parameters.AddWithValue("$open", open);
                round.Parameters.AddWithValue("$close", closed ? open + 10_000 : DBNull.Value);
                round.Parameters.AddWithValue("$n", closed ? UpdatesPerRound : 0);
                round.Parameters.AddWithValue("$tl", closed ? loss + 0.05 : DBNull.Value);
                round.Parameters.AddWithValue("$el", closed ? loss : DBNull.Value);
                round.Parameters.AddWithValue("$cp", closed ? "none" : DBNull.Value);
                round.ExecuteNonQuery();
                if (!closed) continue;
                for (int u = 0; u < UpdatesPerRound; u++)
                {
                    string id = $"r{r}-u{u}";
                    string vol = ids[rng.Next(volunteers)];
                    unit.Parameters.Clear();
                    unit.Parameters.AddWithValue("$id", id);
                    unit.Parameters.AddWithValue("$r", r);
                    unit.Parameters.AddWithValue("$vol", vol);
                    unit.Parameters.AddWithValue("$idx", u);
                    unit.Parameters.AddWithValue("$at", open + u);
                    unit.Parameters.AddWithValue("$dl", open + 180_000);
                    unit.ExecuteNonQuery();
                    update.Parameters.Clear();
                    update.Parameters.AddWithValue("$id", id);
                    update.Parameters.AddWithValue("$vol", vol);
                    update.Parameters.AddWithValue("$r", r);
                    update.Parameters.AddWithValue("$blob", blob);
                    update.Parameters.AddWithValue("$at", open + 5_000 + u);
                    update.ExecuteNonQuery();
                }
            }
        }
        using (var rejections = Command("INSERT INTO rejections(reason, count) VALUES('non-finite', $n), ('stale-round', $n)"))
        {
            rejections.Parameters.AddWithValue("$n", rounds / RejectionEvery);
            rejections.ExecuteNonQuery();
        }
        tx.Commit();
    }
}
