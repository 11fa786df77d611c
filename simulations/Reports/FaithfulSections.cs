using System.Globalization;
using System.Text;
using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Reports;

/// <summary>The experiment-specific sections of a faithful report, each ending with what the runs show, as measured.</summary>
public static class FaithfulSections
{
    /// <summary>Every run: loss, round time split, traffic, rejections.</summary>
    public static void Runs(StringBuilder sb, FaithfulOutcome o)
    {
        sb.Append("## Runs: loss, round time split and traffic\n\n")
          .Append("Round time is open to next open (virtual seconds); the split is the mean over accepted units plus the coordinator's close. ")
          .Append("Rejected counts updates the real verifier refused (stale-round: arrived after the round closed).\n\n");
        var axes = FaithfulCsv.AxisNames(o);
        var t = new MarkdownTable([.. axes, "final loss", "gap", "round s", "compute s", "transfer s", "wait s", "close s", "MB down", "MB up", "accepted", "rejected", "lost", "banned"]);
        foreach (var run in o.Runs)
        {
            var r = run.Result;
            t.Add([.. axes.Select(a => run[a]), F(r.FinalLoss), F(r.FinalGap), Num.G(r.MeanRoundSeconds), Num.G(Avg(r, x => x.ComputeSeconds)),
                Num.G(Avg(r, x => x.TransferSeconds)), Num.G(Avg(r, x => x.WaitSeconds)), Num.G(Avg(r, x => x.CloseSeconds)),
                Num.G(r.BytesDown / 1e6), Num.G(r.BytesUp / 1e6), r.UnitsAccepted.ToString(), Rejected(r), r.UnitsLostToChurn.ToString(), r.BannedVolunteers.ToString()]);
        }

        sb.Append(t).Append('\n');
    }

    /// <summary>Centralized dense and MoE against the sharded DiLoCo runs at equal tokens.</summary>
    public static void MoeVsDense(StringBuilder sb, FaithfulOutcome o)
    {
        sb.Append("## Gap to the optimum at equal tokens\n\n")
          .Append("Every row trains the same number of tokens from the same θ_0 and is scored on the engine's held-out batches. ")
          .Append("The centralized rows take one AdamW step per inner step of the pool on the pool's combined batch (quorum × batch); ")
          .Append("the dense twin has one feed-forward of top-k × expert width, so the same active parameters per token.\n\n");
        var moe = o.Baselines.FirstOrDefault(x => x.Label == "centralized MoE");
        var t = new MarkdownTable("training", "parameters (active)", "tokens", "final loss", "gap to optimum", "gap / centralized MoE gap");
        foreach (var c in o.Baselines)
        {
            t.Add(c.Label, $"{Num.Si(c.Parameters)} ({Num.Si(c.ActiveParameters)})", Num.Si(c.Tokens), F(c.FinalLoss), F(c.FinalGap), Ratio(c.FinalGap, moe?.FinalGap));
        }

        foreach (var run in o.Runs)
        {
            var r = run.Result;
            long tokens = (long)r.UnitsAccepted * r.Config.TokensPerUnit;
            t.Add($"sharded DiLoCo MoE, {Label(run)} ({r.Rounds.Count} rounds)", "same as MoE", $"{Num.Si(tokens)} accepted",
                F(r.FinalLoss), F(r.FinalGap), Ratio(r.FinalGap, moe?.FinalGap));
        }

        sb.Append(t).Append('\n');
        sb.Append("### What these runs show\n\n");
        var dense = o.Baselines.FirstOrDefault(x => x.Label == "centralized dense");
        if (dense is not null && moe is not null)
        {
            sb.Append($"- Centralized MoE ends {Compare(moe.FinalGap, dense.FinalGap)} centralized dense (gap {F(moe.FinalGap)} vs {F(dense.FinalGap)}).\n");
        }

        foreach (var run in o.Runs.Where(r => moe is not null))
        {
            sb.Append($"- Sharded DiLoCo ({Label(run)}) ends {Compare(run.Result.FinalGap, moe!.FinalGap)} centralized MoE ")
              .Append($"(gap {F(run.Result.FinalGap)}, {Ratio(run.Result.FinalGap, moe.FinalGap)} of it), {Rejected(run.Result)} updates rejected.\n");
        }

        sb.Append('\n');
        Staleness(sb, o);
    }

    /// <summary>The staleness sweep: the same stragglers and spare leases, late updates rejected (0) or aggregated late (1, 2, ...).</summary>
    public static void Staleness(StringBuilder sb, FaithfulOutcome o)
    {
        var runs = o.Runs.Where(r => r.Axes.Any(a => a is ("sweep", "staleness"))).ToList();
        if (runs.Count == 0)
        {
            return;
        }

        sb.Append("## Stale updates: bounded staleness\n\n")
          .Append("Each row leases spare units beyond the quorum, so a round closes on its fastest quorum while stragglers are still training. ")
          .Append("With max staleness 0 the engine rejects a unit that arrives after its round closed (stale-round: wasted work); with s ≥ 1 it ")
          .Append("aggregates it into the current round while that round is at most its version + s. \"late accepted\" counts accepted updates ")
          .Append("whose version is older than the round that aggregated them, read from the engine's ledger; \"max lag\" is the largest round − version among them. ")
          .Append("A bound above the max lag changes nothing: no update was that late.\n\n");
        var t = new MarkdownTable("max staleness", "H", "quorum", "spare leases", "final loss", "gap to optimum", "accepted", "late accepted", "max lag (rounds)", "rejected stale", "round s");
        foreach (var run in runs)
        {
            var r = run.Result;
            t.Add(run["staleness"], run["H"], $"{run["quorum"]} of {r.Config.Volunteers}", run["spare"], F(r.FinalLoss), F(r.FinalGap),
                r.UnitsAccepted.ToString(), r.LateAccepted.ToString(), r.MaxLag.ToString(), r.StaleRejected.ToString(), Num.G(r.MeanRoundSeconds));
        }

        sb.Append(t).Append('\n');
        sb.Append("### What these runs show\n\n");
        foreach (var run in runs)
        {
            var r = run.Result;
            sb.Append($"- Max staleness {run["staleness"]}: {r.LateAccepted} late updates aggregated (at most {r.MaxLag} rounds late), {r.StaleRejected} rejected as stale, ")
              .Append($"gap {F(r.FinalGap)}, mean round {Num.G(r.MeanRoundSeconds)} s.\n");
        }

        sb.Append('\n');
    }

    /// <summary>Attack × aggregator × fraction (× α), over seeds, relative to the same aggregator without attack.</summary>
    public static void AttackMatrix(StringBuilder sb, FaithfulOutcome o)
    {
        bool alpha = o.Runs.Any(r => r.Has("alpha"));
        sb.Append("## Attack matrix\n\n")
          .Append("Each cell runs every seed; numbers are the mean and, in brackets, the 95% Student-t interval over seeds. ")
          .Append("\"gap ×\" is the final gap to the optimum over the same aggregator's gap without attack at the same seed (paired). ")
          .Append($"Verdict: **{AttackVerdict.Held}** when the whole interval of gap × is at most {Num.G(AttackVerdict.HeldGapRatio)}, ")
          .Append($"**{AttackVerdict.Broke}** when it is wholly above, else **{AttackVerdict.Inconclusive}** (one seed is always inconclusive). ")
          .Append($"\"banned the attackers\" is added when the interval of the share of attacker keys the engine banned lies above {Num.G(AttackVerdict.BannedShare)}. ")
          .Append("Aggregation s is the modelled time per round (trunk + experts).\n\n");
        string[] head = ["aggregator", "attack", "byzantine", "seeds", "final loss", "gap ×", "verdict", "banned attackers", "banned honest", "rejected", "aggregation s"];
        var t = new MarkdownTable(alpha ? ["α", .. head] : head);
        var summary = new List<(string Group, string Rule, string Verdict, string Ratio)>();
        foreach (var cell in o.Runs.GroupBy(r => r.Cell))
        {
            var first = cell.First();
            var runs = cell.Select(r => r.Result).ToList();
            string a = alpha ? first["alpha"] : "";
            var reference = o.Runs.Where(r => (!alpha || r["alpha"] == a) && r["aggregator"] == first["aggregator"] && r["attack"] == "none").ToList();
            bool isRef = first["attack"] == "none";
            var ratios = isRef ? [] : AttackVerdict.Ratios(cell, reference);
            string verdict = isRef ? "reference" : reference.Count == 0 ? "no reference" : AttackVerdict.Of(ratios);
            if (!isRef && AttackVerdict.BannedTheAttackers(runs)) verdict += ", banned the attackers";
            string ratio = isRef ? "—" : reference.Count == 0 ? "n/a" : Interval.Of(ratios).Text();
            string[] row = [first["aggregator"], first["attack"], $"{first["byzantine"]}/{runs[0].Config.Volunteers}", runs.Count.ToString(),
                Interval.Of(runs.Select(r => r.FinalLoss).ToList()).Text(), ratio, verdict,
                isRef ? "—" : Interval.Of(runs.Select(r => (double)r.BannedByzantine).ToList()).Text("F1"),
                Interval.Of(runs.Select(r => (double)r.BannedHonest).ToList()).Text("F1"),
                Num.G(runs.Average(r => r.UnitsRejected)),
                Num.G(runs.Average(r => r.Rounds.Count == 0 ? 0 : r.Rounds.Average(x => x.CloseSeconds)))];
            t.Add(alpha ? [a, .. row] : row);
            if (!isRef)
            {
                summary.Add(($"{(alpha ? $"α = {a}, " : "")}{first["attack"]} with {first["byzantine"]} Byzantine", first["aggregator"], verdict, ratio));
            }
        }

        sb.Append(t).Append('\n');
        sb.Append("### What these runs show\n\n");
        foreach (var group in summary.GroupBy(x => x.Group))
        {
            string List(string v) => string.Join(", ", group.Where(x => x.Verdict.StartsWith(v, StringComparison.Ordinal)).Select(x => $"`{x.Rule}` (×{x.Ratio})")) is { Length: > 0 } l ? l : "none";
            sb.Append($"- {group.Key}: held {List(AttackVerdict.Held)}; broke {List(AttackVerdict.Broke)}; inconclusive {List(AttackVerdict.Inconclusive)}.\n");
        }

        sb.Append('\n');
    }

    /// <summary>Cheaters × spot-check probability: who was caught, how fast, at what recomputation cost, and honest keys flagged.</summary>
    public static void Verification(StringBuilder sb, FaithfulOutcome o)
    {
        sb.Append("## Verification: spot checks against cheating volunteers\n\n")
          .Append("Each run sets both spot-check rates (established keys and keys on probation) to p. A check re-trains the unit on the ")
          .Append("coordinator (the real `Recomputation`, on the real trainer) right after the update is accepted; the simulation waits for the ")
          .Append("verdict before its next event. \"caught\" counts cheater keys banned by a failed check; \"rounds to ban all\" is the round in ")
          .Append("which the last one was banned (— while one is still free). \"honest flagged\" counts failed checks of honest keys. ")
          .Append("\"recomputed / accepted\" is the coordinator's extra compute: units trained again per accepted unit. ")
          .Append("\"cheats aggregated\" are accepted cheater updates a check did not drop before their round closed.\n\n");
        var t = new MarkdownTable("attack", "spot-check p", "seed", "cheater keys", "caught", "rounds to ban all", "honest flagged",
            "cheats accepted", "cheats aggregated", "checks run", "recomputed / accepted", "final loss");
        foreach (var run in o.Runs)
        {
            var r = run.Result;
            t.Add(run["attack"], run[FaithfulRunner.VerificationAxis], run[FaithfulRun.SeedAxis], r.ByzantineKeys.ToString(), r.CaughtByzantine.ToString(),
                r.RoundsToBanAll is { } n ? $"{n} of {r.Rounds.Count}" : "—", r.HonestFlagged.ToString(), r.ByzantineAccepted.ToString(),
                r.ByzantineAggregated.ToString(), r.SpotChecksRun.ToString(), Num.Pct(r.RecomputedShare), F(r.FinalLoss));
        }

        sb.Append(t).Append('\n');
        if (o.Runs.GroupBy(r => r.Cell).Any(c => c.Count() > 1)) VerificationOverSeeds(sb, o);
        sb.Append("### What these runs show\n\n");
        foreach (var run in o.Runs)
        {
            var r = run.Result;
            string caught = r.ByzantineKeys == 0 ? "no cheater keys joined"
                : r.RoundsToBanAll is { } n ? $"all {r.ByzantineKeys} cheater keys banned by round {n}"
                : $"{r.CaughtByzantine} of {r.ByzantineKeys} cheater keys banned within {r.Rounds.Count} rounds";
            sb.Append($"- `{run["attack"]}`, p = {run[FaithfulRunner.VerificationAxis]}: {caught}; {r.ByzantineAggregated} of {r.ByzantineAccepted} accepted cheating updates ")
              .Append($"reached an aggregate; {r.HonestFlagged} honest updates flagged; the coordinator recomputed {Num.Pct(r.RecomputedShare)} of the accepted units.\n");
        }

        sb.Append('\n');
    }

    /// <summary>Synchronous rounds against eager units (issue 16): utilization, held-out loss after the same rounds, and wall time.</summary>
    public static void Eager(StringBuilder sb, FaithfulOutcome o)
    {
        sb.Append("## Eager units: utilization and loss\n\n")
          .Append("\"sync\" is the engine's synchronous default; \"eager\" lets every volunteer whose update was accepted take the next round's unit at once ")
          .Append("and train it from its own result (version r minus its own update), aggregated one version late. Utilization is the virtual compute ")
          .Append("seconds of the accepted units over (volunteers × virtual wall seconds). Both modes aggregate the same number of units (quorum × rounds), ")
          .Append("so the final held-out loss is after the same tokens. Mean [95% interval] over seeds; the paired loss difference is eager − sync per seed.\n\n");
        var t = new MarkdownTable("mode", "seeds", "utilization", "final loss", "virtual s", "eager units", "late accepted", "rejected");
        var byMode = o.Runs.GroupBy(r => r[FaithfulRunner.EagerAxis]).ToList();
        foreach (var g in byMode)
        {
            var runs = g.ToList();
            t.Add(g.Key, runs.Count.ToString(), Interval.Of(runs.Select(r => r.Result.Utilization).ToList()).Text("P1"),
                Interval.Of(runs.Select(r => r.Result.FinalLoss).ToList()).Text(), Interval.Of(runs.Select(r => r.Result.VirtualSeconds).ToList()).Text("F2"),
                Num.G(runs.Average(r => r.Result.EagerUnits)), Num.G(runs.Average(r => r.Result.LateAccepted)), Num.G(runs.Average(r => r.Result.UnitsRejected)));
        }

        sb.Append(t).Append('\n');
        var sync = o.Runs.Where(r => r[FaithfulRunner.EagerAxis] == "sync").ToDictionary(r => r[FaithfulRun.SeedAxis]);
        var pairs = o.Runs.Where(r => r[FaithfulRunner.EagerAxis] == "eager" && sync.ContainsKey(r[FaithfulRun.SeedAxis]))
            .Select(r => (Eager: r.Result, Sync: sync[r[FaithfulRun.SeedAxis]].Result)).ToList();
        if (pairs.Count > 0)
        {
            var loss = Interval.Of(pairs.Select(p => p.Eager.FinalLoss - p.Sync.FinalLoss).ToList());
            var wall = Interval.Of(pairs.Select(p => p.Eager.VirtualSeconds / p.Sync.VirtualSeconds).ToList());
            sb.Append($"Paired over {pairs.Count} seeds: final loss eager − sync {loss.Text("F4")}; wall time eager ÷ sync {wall.Text()}.\n\n");
        }
    }

    /// <summary>The verification runs per cell (attack × p) over their seeds: mean and 95% Student-t interval of each measure.</summary>
    private static void VerificationOverSeeds(StringBuilder sb, FaithfulOutcome o)
    {
        sb.Append("### Over seeds\n\n")
          .Append("Mean and, in brackets, the 95% Student-t interval over the seeds of each cell. \"rounds to ban all\" averages the seeds ")
          .Append("that banned every cheater within the run (how many did is given beside it).\n\n");
        var t = new MarkdownTable("attack", "spot-check p", "seeds", "caught (of cheater keys)", "seeds that banned all", "rounds to ban all",
            "honest flagged", "cheats aggregated", "recomputed / accepted", "final loss");
        foreach (var cell in o.Runs.GroupBy(r => r.Cell))
        {
            var first = cell.First();
            var runs = cell.Select(r => r.Result).ToList();
            var banAll = runs.Where(r => r.RoundsToBanAll is not null).Select(r => (double)r.RoundsToBanAll!.Value).ToList();
            t.Add(first["attack"], first[FaithfulRunner.VerificationAxis], runs.Count.ToString(CultureInfo.InvariantCulture),
                $"{Interval.Of(runs.Select(r => (double)r.CaughtByzantine).ToList()).Text("F2")} (of {runs[0].ByzantineKeys})",
                $"{banAll.Count} of {runs.Count}", banAll.Count == 0 ? "—" : Interval.Of(banAll).Text("F1"),
                Interval.Of(runs.Select(r => (double)r.HonestFlagged).ToList()).Text("F2"),
                Interval.Of(runs.Select(r => (double)r.ByzantineAggregated).ToList()).Text("F1"),
                Interval.Of(runs.Select(r => r.RecomputedShare * 100).ToList()).Text("F1") + " %",
                Interval.Of(runs.Select(r => r.FinalLoss).ToList()).Text());
        }

        sb.Append(t).Append('\n');
    }

    private static string Label(FaithfulRun run) =>
        run.Axes.Any(a => a is ("sweep", "staleness"))
            ? $"H={run["H"]}, quorum {run["quorum"]}, spare {run["spare"]}, max staleness {run["staleness"]}"
            : $"H={run["H"]}, quorum {run["quorum"]}";

    private static double Avg(FaithfulResult r, Func<FaithfulRound, double> f) => r.Rounds.Count == 0 ? double.NaN : r.Rounds.Average(f);

    private static string F(double v) => double.IsNaN(v) ? "n/a" : double.IsInfinity(v) ? "diverged" : v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);

    private static string Ratio(double gap, double? reference) => reference is { } r && r > 0 ? Num.G(gap / r) + "×" : "n/a";

    private static string Compare(double gap, double reference) => gap < reference ? "below (better than)" : gap > reference ? "above (worse than)" : "level with";

    private static string Rejected(FaithfulResult r) =>
        r.UnitsRejected == 0 ? "0" : $"{r.UnitsRejected} ({string.Join(", ", r.Rejections.Select(x => $"{x.Key} {x.Value}"))})";
}
