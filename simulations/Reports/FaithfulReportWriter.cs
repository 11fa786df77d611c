using System.Text;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Reports;

/// <summary>Writes a faithful outcome as report.md, CSV files, a loss plot and a copy of the scenario.</summary>
public static class FaithfulReportWriter
{
    // More lines than this make the loss plot unreadable; the CSV has every run.
    private const int MaxPlottedRuns = 12;

    /// <summary>Writes everything into <paramref name="folder"/> and returns the file names written.</summary>
    public static IReadOnlyList<string> Write(FaithfulOutcome outcome, string scenarioText, string folder)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        void Text(string name, string content)
        {
            File.WriteAllText(Path.Combine(folder, name), content, new UTF8Encoding(false));
            files.Add(name);
        }

        Text("scenario.json", scenarioText);
        Text("rounds.csv", FaithfulCsv.Rounds(outcome).ToString());
        Text("runs.csv", FaithfulCsv.Runs(outcome).ToString());
        Text("wall-times.csv", FaithfulCsv.WallTimes(outcome).ToString());
        string? plot = null;
        if (outcome.Runs.Count is > 0 and <= MaxPlottedRuns)
        {
            plot = "loss.png";
            var series = outcome.Runs.Select(r => new PlotSeries(Label(r),
                r.Result.Rounds.Select(x => (double)x.Round + 1).ToArray(), r.Result.Rounds.Select(x => x.EvalLoss - r.Result.OptimalLoss).ToArray())).ToList();
            var levels = outcome.Baselines.Select(b => (b.Label, b.FinalGap)).ToList();
            LinePlot.Save(Path.Combine(folder, plot), "Held-out gap to the optimum per round", "round", "loss − optimum (nats/byte)", false, true, series, levels);
            files.Add(plot);
        }

        Text("report.md", Markdown(outcome, plot));
        return files;
    }

    private static string Label(FaithfulRun r) => string.Join(", ", r.Axes.Where(a => a.Axis != "sweep").Select(a => $"{a.Axis} {a.Value}"));

    private static string Markdown(FaithfulOutcome o, string? plot)
    {
        var s = o.Scenario;
        var b = o.Base;
        var sb = new StringBuilder();
        sb.Append($"# Scenario `{s.Name}`{(o.Smoke ? " (smoke size)" : "")}\n\n");
        if (s.Description.Length > 0)
        {
            sb.Append(s.Description).Append("\n\n");
        }

        sb.Append($"Faithful mode: the real `CoordinatorEngine` (leases, verification, aggregation, outer step, reputation) and the real volunteer trainer ")
          .Append($"(`WorkUnitRunner`, TorchSharp, Ed25519-signed updates) on a virtual clock. Seed {s.Seed}; the same seed gives this same file. ")
          .Append("Losses are measured; times are simulated from the timing model (measured wall times are in wall-times.csv only).\n\n");
        AppendConfiguration(sb, o);
        if (o.Failures.Count > 0)
        {
            sb.Append("## Failed runs\n\n")
              .Append($"{o.Failures.Count} of {o.Failures.Count + o.Runs.Count} runs stopped on a native error and are missing from every table below.\n\n");
            foreach (var f in o.Failures)
            {
                sb.Append($"- {f.Label}: {f.Error}\n");
            }

            sb.Append('\n');
        }

        if (o.NotRun.Count > 0)
        {
            sb.Append("## Runs not done (time budget)\n\n")
              .Append($"The wall-time budget ran out after {o.Runs.Count + o.Failures.Count} of {o.Runs.Count + o.Failures.Count + o.NotRun.Count} runs; ")
              .Append("these were not run and are missing from every table below:\n\n");
            foreach (string n in o.NotRun)
            {
                sb.Append($"- {n}\n");
            }

            sb.Append('\n');
        }

        switch ((s.Faithful ?? new FaithfulSection()).Experiment)
        {
            case FaithfulExperiment.MoeVsDense:
                FaithfulSections.MoeVsDense(sb, o);
                break;
            case FaithfulExperiment.AttackMatrix:
                FaithfulSections.AttackMatrix(sb, o);
                break;
            case FaithfulExperiment.Verification:
                FaithfulSections.Verification(sb, o);
                break;
            case FaithfulExperiment.Eager:
                FaithfulSections.Eager(sb, o);
                break;
        }

        FaithfulSections.Runs(sb, o);
        if (plot is not null)
        {
            sb.Append($"![Held-out gap to the optimum per round]({plot})\n\n");
        }

        sb.Append("## Assumptions\n\n")
          .Append("- Compute time = H × batch × sequence × training FLOPs per token of the preset (6 × active matmul parameters + 6·layers·sequence·width) / (device peak × utilization) × straggler slowdown.\n")
          .Append("- Transfer time = latency + bytes / min(volunteer link, coordinator link / quorum) for the real fp32 shard download and the real encoded upload.\n")
          .Append("- Close time = modelled aggregation (scale-mode constants per stage of the spec) + the held-out evaluation's forward FLOPs on the coordinator device.\n")
          .Append("- Byzantine volunteers are omniscient and coordinated: they see every honest update of the round (after the codec) and craft theirs with `Hivemind.Aggregation` attacks; they claim the honest mean loss and the unit's tokens. `label-flip` attackers instead train honestly on flipped byte targets.\n")
          .Append("- With a Dirichlet α, each volunteer trains every unit on its own domain mix (drawn once per volunteer); the held-out evaluation stays on the engine's uniform mix, so the loss measures the global objective.\n")
          .Append("- Engine settings are the coordinator's own `CoordinatorOptions` (table above); the simulator changes only join rate limit, heartbeat expiry, seeded planning and the participant draw (first-come), for the reasons in `FaithfulConfig.VirtualTime`.\n")
          .Append($"- Volunteers declare exactly the memory for {(b.ExpertsPerLayer is { } k ? $"{k} experts per layer" : "every expert")}; the real planner picks their experts.\n");
        return sb.ToString();
    }

    private static void AppendConfiguration(StringBuilder sb, FaithfulOutcome o)
    {
        var b = o.Base;
        var e = b.Engine;
        var f = o.Scenario.Faithful ?? new FaithfulSection();
        var t = new MarkdownTable("quantity", "value");
        t.Add("model preset", e.Preset);
        t.Add("work unit", $"H={e.InnerSteps} × batch {e.BatchSize} × sequence {e.SequenceLength} = {Num.N(b.TokensPerUnit)} tokens; inner lr {Num.G(e.InnerLearningRate)}, outer lr {Num.G(e.OuterLearningRate)}, momentum {Num.G(e.OuterMomentum)}");
        t.Add("volunteers / quorum / spare leases / rounds", $"{b.Volunteers} / {b.Quorum} / {e.SpareLeases} / {b.Rounds}");
        t.Add("aggregation (trunk / experts)", $"`{e.TrunkRule}` / `{e.ExpertRule}`");
        t.Add("engine defences", $"replication {e.Replication}, min expert holders {e.MinExpertHolders}, norm bound {Num.G(e.NormBoundFactor)}× running median, "
            + $"probation below reputation {Num.G(e.ProbationReputation)} ({e.ProbationSlots} slot), participant draw window {Num.G(e.ParticipantDrawWindow.TotalSeconds)} s, ban below {Num.G(e.BanThreshold)}");
        t.Add("spot checks", e.SpotCheckProbability == 0 && e.SpotCheckProbationProbability == 0 ? "off" :
            $"probability {Num.G(e.SpotCheckProbability)} ({Num.G(e.SpotCheckProbationProbability)} on probation, until {e.SpotCheckProbationPasses} pass), " +
            $"fail above relative L2 {Num.G(e.SpotCheckMaxRelativeL2)} or below cosine {Num.G(e.SpotCheckMinCosine)}");
        t.Add("upload codec", e.Codec);
        t.Add("data", f.AlphaSweep.Count > 0 ? $"each volunteer's domain mix ~ Dirichlet(α), α swept over {string.Join(", ", f.AlphaSweep.Select(Num.G))}"
            : b.DomainAlpha is { } alpha ? $"each volunteer's domain mix ~ Dirichlet({Num.G(alpha)})" : "every volunteer trains the engine's uniform mix (i.i.d.)");
        t.Add("seeds per cell", $"{Math.Max(1, f.Seeds)} (seed {o.Scenario.Seed} onwards); intervals are 95% Student-t over seeds");
        t.Add("devices", string.Join(", ", b.DeviceMix.Select(d => $"{d.Device.Name}×{Num.G(d.Weight)} ({Num.G(d.Device.SustainedFlops(b.Precision) / 1e9)} GFLOP/s sustained)")));
        t.Add("links (Mb/s) down / up; latency (ms)", $"{b.DownloadMbps} / {b.UploadMbps}; {b.LatencyMs}");
        t.Add("sessions / offline gaps (h)", $"{b.SessionHours?.ToString() ?? "no churn"} / {b.OfflineHours}");
        t.Add("stragglers", $"{Num.Pct(b.StragglerFraction)} of volunteers, {Num.G(b.StragglerSlowdown)}× slower");
        t.Add("deadline / lease", $"{Num.G(e.RoundTimeout.TotalSeconds)} s / {Num.G(e.LeaseDuration.TotalSeconds)} s");
        sb.Append("## Configuration\n\n").Append(t).Append('\n');
    }
}
