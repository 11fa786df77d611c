using System.Text;
using Hivemind.Simulations.Running;
using Hivemind.Simulations.Scale;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Reports;

/// <summary>Writes a scenario's outcome as report.md, CSV files, PNG plots and a copy of the scenario.</summary>
public static class ReportWriter
{
    /// <summary>Writes everything into <paramref name="folder"/> and returns the file names written.</summary>
    public static IReadOnlyList<string> Write(ScenarioOutcome outcome, string scenarioText, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        void Text(string name, string content)
        {
            File.WriteAllText(Path.Combine(folder, name), content, new UTF8Encoding(false));
            files.Add(name);
        }

        Text("scenario.json", scenarioText);
        var axes = SweepAxis.Swept(outcome.Scenario.Sweep);
        if (outcome.Sweep.Count > 0)
        {
            Text("sweep.csv", SweepCsv(outcome, axes).ToString());
        }

        if (outcome.Matches.Count > 0)
        {
            Text("cluster-match.csv", MatchCsv(outcome.Matches).ToString());
        }

        var plots = SweepPlots.Write(outcome, axes, folder);
        files.AddRange(plots.Select(p => p.File));
        Text("report.md", Markdown(outcome, axes, plots));
        return files;
    }

    private static CsvTable SweepCsv(ScenarioOutcome o, IReadOnlyList<SweepAxis> axes)
    {
        var csv = new CsvTable([.. axes.Select(a => a.Column), "mean_round_s", "compute_share", "transfer_share", "wait_share",
            "aggregation_share", "compute_utilization", "tokens_per_s", "bytes_per_token", "units_accepted", "units_lost_to_churn", "units_abandoned",
            "peak_coordinator_memory_bytes", "memory_bound_rounds"]);
        foreach (var row in o.Sweep)
        {
            var r = row.Result;
            csv.Add([.. axes.Select(a => a.Text(row)), Num.Csv(r.MeanRoundSeconds), Num.Csv(r.ComputeShare), Num.Csv(r.TransferShare),
                Num.Csv(r.WaitShare), Num.Csv(r.AggregationShare), Num.Csv(r.ComputeUtilization), Num.Csv(r.TokensPerSecond),
                Num.Csv(r.BytesPerToken), r.UnitsAccepted.ToString(), r.UnitsLostToChurn.ToString(), r.UnitsAbandoned.ToString(),
                Num.Csv(r.PeakCoordinatorMemoryBytes), r.MemoryBoundRounds.ToString()]);
        }

        return csv;
    }

    private static CsvTable MatchCsv(IReadOnlyList<ClusterMatch> matches)
    {
        var csv = new CsvTable("device", "link_mbps", "cluster", "cluster_tokens_per_s", "volunteers_needed", "pool_volunteers",
            "pool_tokens_per_s", "pool_compute_utilization", "pool_mean_round_s", "trials");
        foreach (var m in matches)
        {
            csv.Add(m.Device, Num.Csv(m.LinkMbps), m.Cluster, Num.Csv(m.ClusterTokensPerSecond), m.VolunteersNeeded?.ToString() ?? "",
                m.BestVolunteers.ToString(), Num.Csv(m.Best.TokensPerSecond), Num.Csv(m.Best.ComputeUtilization), Num.Csv(m.Best.MeanRoundSeconds),
                m.Trials.ToString());
        }

        return csv;
    }

    private static string Markdown(ScenarioOutcome o, IReadOnlyList<SweepAxis> axes, IReadOnlyList<(string File, string Caption)> plots)
    {
        var s = o.Scenario;
        var b = o.Base;
        var m = b.Model;
        var sb = new StringBuilder();
        sb.Append($"# Scenario `{s.Name}`{(o.Smoke ? " (smoke size)" : "")}\n\n");
        if (s.Description.Length > 0)
        {
            sb.Append(s.Description).Append("\n\n");
        }

        sb.Append($"Scale mode: the timing model on virtual time, no tensors. Seed {s.Seed}; the same seed gives this same file. ")
          .Append("Every number below is simulated from the assumptions listed at the end, not measured on a real network.\n\n");

        sb.Append("## Configuration\n\n");
        var config = new MarkdownTable("quantity", "value");
        config.Add("model", $"{m.Shape.Layers} layers, d={m.Shape.DModel}, {m.Shape.Experts} experts (top-{m.Shape.TopK}), expert hidden {m.Shape.ExpertHidden}, context {m.Shape.ContextLength}");
        config.Add("parameters: total / trunk / one expert (all layers)", $"{Num.Si(m.TotalParameters)} / {Num.Si(m.TrunkParameters)} / {Num.Si(m.ExpertParametersAllLayers)}");
        config.Add("shard (trunk + experts per shard)", $"{Num.Si(b.ShardElements)} parameters ({s.Training.ExpertsPerShard} experts), replication q={s.Training.Replication}");
        config.Add("training FLOPs per token (6·active + attention)", Num.G(m.TrainingFlopsPerToken));
        config.Add("work unit", $"H={b.InnerSteps} inner steps × {Num.N(b.TokensPerStep)} tokens = {Num.Si(b.TokensPerUnit)} tokens, {KebabEnumConverter.NameOf(b.Precision)}");
        config.Add("transfer per unit (base codecs)", $"down {(CodecSize.IsSparse(b.Download) ? $"{Num.Bytes(b.DownloadBytesFor(1))} per step ({KebabEnumConverter.NameOf(b.Download)} at {Num.G(b.DownloadDensity)}; newcomers {(b.SeedDownloads ? "θ_0 from the seed, then the steps since 0 or, when fewer bytes, " : "")}{Num.Bytes(b.DownloadBytes)} fp32 compressed ÷{Num.G(b.FullDownloadCompression)})" : $"{Num.Bytes(b.DownloadBytes)} ({KebabEnumConverter.NameOf(b.Download)})")}, up {Num.Bytes(b.UploadBytes)} ({KebabEnumConverter.NameOf(b.Upload)}); sizes from the real codec, int8 blocks of {Hivemind.Protocol.Tensors.TensorCodec.Int8BlockSize}");
        config.Add("volunteers", $"{Num.N(b.Volunteers)} slots; devices {string.Join(", ", b.DeviceMix.Select(d => $"{d.Device.Name}×{Num.G(d.Weight)}"))}");
        config.Add("links (Mb/s) down / up; latency (ms)", $"{b.DownloadMbps} / {b.UploadMbps}; {b.LatencyMs}");
        config.Add("sessions / offline gaps (h)", $"{b.SessionHours?.ToString() ?? "no churn"} / {b.OfflineHours}");
        config.Add("stragglers", $"{Num.Pct(b.StragglerFraction)} of volunteers, {Num.G(b.StragglerSlowdown)}× slower");
        config.Add("round", $"{b.Rounds} rounds, quorum {Num.Pct(b.Quorum)}, deadline {Num.G(b.DeadlineSeconds / 60)} min, aggregator {KebabEnumConverter.NameOf(b.Aggregator)}");
        config.Add("coordinator", $"{Num.G(b.CoordinatorMbps)} Mb/s shared link, {b.AggregationCores} aggregation cores");
        config.Add("coordinator memory (model + outer momentum fp32; one decoded fp32 update each)", MemoryText(b));
        sb.Append(config).Append('\n');

        if (o.Sweep.Count > 0)
        {
            sb.Append("## Round time, utilization and traffic\n\n")
              .Append("Round time is open to next open; its split is the mean over accepted volunteers (compute, transfer, waiting for the round to close) plus aggregation. ")
              .Append("Utilization is accepted compute over the compute time volunteers offered while online. Bytes per token count every download and every accepted upload.\n\n");
            var table = new MarkdownTable([.. axes.Select(a => a.Column), "round s", "compute", "transfer", "wait", "aggregate", "utilization", "tokens/s", "bytes/token", "lost / abandoned units"]);
            foreach (var row in o.Sweep)
            {
                var r = row.Result;
                table.Add([.. axes.Select(a => a.Text(row)), Num.G(r.MeanRoundSeconds), Num.Pct(r.ComputeShare), Num.Pct(r.TransferShare), Num.Pct(r.WaitShare),
                    Num.Pct(r.AggregationShare), Num.Pct(r.ComputeUtilization), Num.Si(r.TokensPerSecond), Num.G(r.BytesPerToken), $"{r.UnitsLostToChurn} / {r.UnitsAbandoned}"]);
            }

            sb.Append(table).Append('\n');
        }

        if (o.Matches.Count > 0)
        {
            AppendMatches(sb, o);
        }

        foreach (var (file, caption) in plots)
        {
            sb.Append($"![{caption}]({file})\n\n");
        }

        AppendAssumptions(sb, o);
        return sb.ToString();
    }

    /// <summary>What the coordinator's memory holds: its bound (or none) and what the base configuration's full quorum needs.</summary>
    private static string MemoryText(ScaleConfig b)
    {
        int quorum = Math.Max(1, (int)Math.Ceiling(b.Quorum * b.Volunteers - 1e-9));
        string need = $"{Num.Bytes(b.ResidentModelBytes)} + {Num.Bytes(b.DecodedUpdateBytes)} per update; a quorum of {Num.N(quorum)} needs {Num.Bytes(b.ResidentModelBytes + quorum * b.DecodedUpdateBytes)}";
        return double.IsPositiveInfinity(b.CoordinatorMemoryBytes)
            ? $"{need}; unbounded (coordinator.memoryGiB not set)"
            : $"{need}; {Num.Bytes(b.CoordinatorMemoryBytes)} holds {Num.N(b.UpdatesInMemory)} updates, and a round closes once it holds them";
    }

    private static void AppendMatches(StringBuilder sb, ScenarioOutcome o)
    {
        var cm = o.Scenario.ClusterMatch!;
        sb.Append("## Volunteers needed to match a cluster\n\n")
          .Append("A cluster trains at accelerators × bf16 peak × utilization / FLOPs per token, with no communication cost charged to it. ")
          .Append($"The search doubles the pool from the fewest volunteers that cover every expert q times, then bisects (to 2%), up to {Num.N(cm.MaxVolunteers)}; ")
          .Append("each trial is a full scale run. Tokens are not equal in value: a volunteer pool with large H trains DiLoCo-style, whose quality per token the faithful `moe-vs-dense` scenario is to measure.\n\n");
        var table = new MarkdownTable("volunteer device", "link Mb/s", "cluster", "cluster tokens/s", "volunteers needed", "pool tokens/s (at that size)", "utilization", "round s");
        foreach (var m in o.Matches)
        {
            string needed = m.VolunteersNeeded is { } n ? Num.N(n) : $"not within {Num.N(cm.MaxVolunteers)} (best: {Num.N(m.BestVolunteers)})";
            table.Add(m.Device, Num.G(m.LinkMbps), m.Cluster, Num.Si(m.ClusterTokensPerSecond), needed, Num.Si(m.Best.TokensPerSecond),
                Num.Pct(m.Best.ComputeUtilization), Num.G(m.Best.MeanRoundSeconds));
        }

        sb.Append(table).Append('\n');
    }

    private static void AppendAssumptions(StringBuilder sb, ScenarioOutcome o)
    {
        sb.Append("## Assumptions\n\n")
          .Append("- Compute time = tokens × FLOPs per token / (device peak × utilization) × straggler slowdown; FLOPs per token = 6 × active matmul parameters + 6·layers·context·d (Kaplan et al. 2020, Table 1).\n")
          .Append("- Transfer time = latency + bytes / min(volunteer link, coordinator link / volunteers in the round); the coordinator link is shared equally (fluid approximation).\n")
          .Append("- A work unit downloads the trunk and the shard's experts and uploads their pseudo-gradient; a codec sweep applies the codec to both directions.\n")
          .Append("- Volunteers start work only when a round opens; units still out when a round closes are abandoned; a volunteer who leaves loses its unit.\n")
          .Append("- Aggregation time = constant(rule) × elements × inputs (inputs² for Krum) / cores; the constants are estimates until `calibrate` times the real aggregators.\n")
          .Append("- The device table below is peak dense throughput from vendor documents; utilization factors are assumptions.\n\n");
        var devices = new MarkdownTable("device", "bf16 TFLOPS", "fp32 TFLOPS", "memory GiB", "utilization", "source");
        foreach (var d in new DeviceTable(o.Scenario.Devices.Select(r => r.ToSpec())).Rows)
        {
            devices.Add(d.Name, Num.G(d.PeakBf16Tflops), Num.G(d.PeakFp32Tflops), Num.G(d.MemoryGiB), Num.Pct(d.Utilization), d.Source);
        }

        sb.Append(devices);
    }
}
