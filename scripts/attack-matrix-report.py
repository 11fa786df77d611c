#!/usr/bin/env python3
"""The hard attack matrix's tables, computed from the simulator's runs.csv files (issue 15).

Usage: scripts/attack-matrix-report.py RUNS_CSV [RUNS_CSV ...] > section.md

Computes exactly what the simulator's report computes for its "Attack matrix" table (mean and two-sided 95% Student-t
interval over seeds, with the same t table as simulations/Reports/Interval.cs; "gap x" is the attacked run's final gap over
the same rule's unattacked gap at the same seed; held when the whole interval is <= 1.1, broke when wholly above, else
inconclusive), plus per-seed rejections, bans and stalls, a verdict grid, and the paired comparisons Karimireddy, He & Jaggi's
claims need. Rows come from the files in order; a later file's run of the same cell and seed replaces an earlier one.
"""
import csv
import math
import sys
from collections import OrderedDict

T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]
HELD = 1.1
BANNED_SHARE = 0.5


def interval(values):
    n = len(values)
    if n == 0:
        return (math.nan, math.nan, math.nan, 0)
    mean = sum(values) / n
    if n == 1 or not math.isfinite(mean):
        return (mean, -math.inf, math.inf, n)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = T95[n - 2] if n - 1 <= len(T95) else 1.96
    half = t * sd / math.sqrt(n)
    return (mean, mean - half, mean + half, n)


def has_interval(i):
    return i[3] >= 2 and math.isfinite(i[1]) and math.isfinite(i[2])


def fmt(v, f=3):
    if math.isnan(v):
        return "n/a"
    if v == math.inf:
        return "∞"
    if v == -math.inf:
        return "−∞"
    s = f"{v:.{f}f}"
    return s.replace("-", "−")


def text(i, f=3):
    return f"{fmt(i[0], f)} [{fmt(i[1], f)}, {fmt(i[2], f)}]" if has_interval(i) else f"{fmt(i[0], f)} (n={i[3]}, no interval)"


def verdict(ratios):
    if ratios and all(r == math.inf for r in ratios):
        return "broke"
    i = interval(ratios)
    if not has_interval(i):
        return "inconclusive"
    return "held" if i[2] <= HELD else "broke" if i[1] > HELD else "inconclusive"


def side(ratios, threshold=1.0):
    """For a ratio of gaps (smaller is better): 'lower' when the whole interval is below threshold, 'higher' when above."""
    i = interval(ratios)
    if not has_interval(i):
        return "inconclusive"
    return "lower" if i[2] < threshold else "higher" if i[1] > threshold else "inconclusive"


def num(s):
    s = s.strip()
    if s in ("", "n/a"):
        return math.nan
    if s in ("∞", "Infinity", "inf"):
        return math.inf
    return float(s)


def load(paths):
    runs = OrderedDict()
    for p in paths:
        with open(p, newline="") as fh:
            for row in csv.DictReader(fh):
                key = (row.get("alpha", ""), row["aggregator"], row["attack"], row["byzantine"], row["seed"])
                runs[key] = row
    return runs


def md(agg):
    """An aggregator spec inside a markdown table cell ("|" would end the cell)."""
    return agg.replace("|", "\\|")


def base_rule(agg):
    return agg.split("|")[-1].strip()


def variant(agg):
    return "bucketing" if agg.startswith("bucketing") else "NNM" if agg.startswith("nnm") else "plain"


def main(paths):
    runs = load(paths)
    cells = OrderedDict()
    for key, row in runs.items():
        cells.setdefault(key[:4], []).append(row)
    for rows in cells.values():
        rows.sort(key=lambda r: int(r["seed"]))
    alphas = list(OrderedDict.fromkeys(k[0] for k in cells))
    aggs = list(OrderedDict.fromkeys(k[1] for k in cells))
    attacks = list(OrderedDict.fromkeys(k[2] for k in cells if k[2] != "none"))
    # Rules grouped by base rule, plain / bucketing / NNM.
    order = {"plain": 0, "bucketing": 1, "NNM": 2}
    bases = list(OrderedDict.fromkeys(base_rule(a) for a in aggs))
    aggs = sorted(aggs, key=lambda a: (bases.index(base_rule(a)), order[variant(a)]))

    def ref_by_seed(alpha, agg):
        return {k[4]: r for k, r in runs.items() if k[0] == alpha and k[1] == agg and k[2] == "none"}

    def ratios(alpha, agg, attack, byz):
        ref = ref_by_seed(alpha, agg)
        out = []
        for r in cells.get((alpha, agg, attack, byz), []):
            if r["seed"] in ref:
                out.append(num(r["final_gap"]) / num(ref[r["seed"]]["final_gap"]))
        return out

    def byz_of(alpha, agg, attack):
        return [k[3] for k in cells if k[0] == alpha and k[1] == agg and k[2] == attack]

    out = []
    w = out.append
    total = len(runs)
    w(f"Computed by `scripts/attack-matrix-report.py` from {', '.join(f'`{p}`' for p in paths)} ({total} engine runs).\n")
    for alpha in alphas:
        a_txt = f"α = {alpha}" if alpha else "i.i.d."
        w(f"\n### The full table ({a_txt})\n")
        w("Mean [95% Student-t interval] over seeds; \"gap ×\" is the attacked final gap ÷ the same rule's unattacked gap at the same "
          "seed; verdict **held** when the whole interval is ≤ 1.1, **broke** when wholly above, else inconclusive. Rejected, banned "
          "attacker keys and the round a run stalled at (— for none) are per seed.\n")
        w("| aggregator | attack | byz | seeds | final loss | final gap | gap × (paired) | verdict | rejected | banned attackers | stalled at round |")
        w("|---|---|---:|---:|---:|---:|---:|---|---:|---:|---|")
        for agg in aggs:
            for attack in ["none"] + attacks:
                for byz in (["0"] if attack == "none" else byz_of(alpha, agg, attack)):
                    rows = cells.get((alpha, agg, attack, byz))
                    if not rows:
                        continue
                    loss = interval([num(r["final_loss"]) for r in rows])
                    gap = interval([num(r["final_gap"]) for r in rows])
                    if attack == "none":
                        ratio, v = "—", "reference"
                    else:
                        rs = ratios(alpha, agg, attack, byz)
                        ratio = text(interval(rs)) if rs else "n/a"
                        v = verdict(rs) if rs else "no reference"
                        keys = [(int(r["banned_byzantine"]), int(r["byzantine"])) for r in rows if int(r["byzantine"]) > 0]
                        share = interval([b / k for b, k in keys])
                        if has_interval(share) and share[1] > BANNED_SHARE:
                            v += ", banned the attackers"
                    rej = ", ".join(r["units_rejected"] for r in rows)
                    ban = ", ".join(r["banned_byzantine"] for r in rows)
                    stall = ", ".join(r["stalled_at_round"] or "—" for r in rows)
                    w(f"| {md(agg)} | {attack} | {byz} | {len(rows)} | {text(loss)} | {text(gap)} | {ratio} | {v} | {rej} | {ban} | {stall} |")

        w(f"\n### Verdict grid ({a_txt}): gap × under each attack, paired by seed\n")
        w("Each entry: verdict and the mean paired gap ratio (interval in the full table). H = held, B = broke, ? = inconclusive; "
          "blank = did not run.\n")
        # Only the rules and attacks that ran at this alpha.
        a_attacks = [a for a in attacks if any(k[0] == alpha and k[2] == a for k in cells)]
        a_aggs = [a for a in aggs if any(k[0] == alpha and k[1] == a for k in cells)]
        w("| aggregator | " + " | ".join(a_attacks) + " |")
        w("|---|" + "---|" * len(a_attacks))
        for agg in a_aggs:
            entries = []
            for attack in a_attacks:
                byzs = byz_of(alpha, agg, attack)
                rs = ratios(alpha, agg, attack, byzs[-1]) if byzs else []
                if not rs:
                    entries.append("")
                    continue
                v = verdict(rs)
                mark = {"held": "H", "broke": "**B**", "inconclusive": "?"}[v]
                entries.append(f"{mark} ×{fmt(interval(rs)[0], 2)}")
            w(f"| {md(agg)} | " + " | ".join(entries) + " |")
        counts = {v: 0 for v in ("held", "broke", "inconclusive")}
        for agg in aggs:
            for attack in attacks:
                for byz in byz_of(alpha, agg, attack):
                    rs = ratios(alpha, agg, attack, byz)
                    if rs:
                        counts[verdict(rs)] += 1
        w(f"\nCells: {counts['held']} held, {counts['broke']} broke, {counts['inconclusive']} inconclusive.\n")

        w(f"\n### Without attack ({a_txt}): each rule's gap ÷ the mean's gap, and bucketing / NNM ÷ the plain rule, paired by seed\n")
        w("A ratio below 1 is a smaller gap (better). \"lower\"/\"higher\": the whole 95% interval is below / above 1.\n")
        w("| aggregator | unattacked final gap | ÷ mean (same seed) | side | ÷ same rule plain (same seed) | side |")
        w("|---|---:|---:|---|---:|---|")
        mean_ref = ref_by_seed(alpha, "mean")
        for agg in aggs:
            ref = ref_by_seed(alpha, agg)
            if not ref:
                continue
            gap = interval([num(r["final_gap"]) for r in ref.values()])
            vs_mean = [num(r["final_gap"]) / num(mean_ref[s]["final_gap"]) for s, r in ref.items() if s in mean_ref]
            plain = ref_by_seed(alpha, base_rule(agg))
            vs_plain = [num(r["final_gap"]) / num(plain[s]["final_gap"]) for s, r in ref.items() if s in plain] if variant(agg) != "plain" else []
            w(f"| {md(agg)} | {text(gap)} | {text(interval(vs_mean)) if vs_mean and agg != 'mean' else '—'} | "
              f"{side(vs_mean) if vs_mean and agg != 'mean' else '—'} | {text(interval(vs_plain)) if vs_plain else '—'} | "
              f"{side(vs_plain) if vs_plain else '—'} |")

        w(f"\n### Under attack ({a_txt}): bucketing / NNM ÷ the plain rule, attacked final gap, paired by seed\n")
        w("Whether the pre-aggregation step leaves a smaller gap than the plain rule under the same attack (ratio < 1 is better; "
          "\"lower\" when the whole interval is below 1).\n")
        w("| rule | attack | bucketing ÷ plain | side | NNM ÷ plain | side |")
        w("|---|---|---:|---|---:|---|")
        for base in bases:
            bucket = next((a for a in aggs if base_rule(a) == base and variant(a) == "bucketing"), None)
            nnm = next((a for a in aggs if base_rule(a) == base and variant(a) == "NNM"), None)
            for attack in attacks:
                byzs = byz_of(alpha, base, attack)
                if not byzs:
                    continue
                plain = {r["seed"]: r for r in cells[(alpha, base, attack, byzs[-1])]}

                def vs(agg):
                    if agg is None or (alpha, agg, attack, byzs[-1]) not in cells:
                        return []
                    return [num(r["final_gap"]) / num(plain[r["seed"]]["final_gap"])
                            for r in cells[(alpha, agg, attack, byzs[-1])] if r["seed"] in plain]

                b, n = vs(bucket), vs(nnm)
                w(f"| {base} | {attack} | {text(interval(b)) if b else '—'} | {side(b) if b else '—'} | "
                  f"{text(interval(n)) if n else '—'} | {side(n) if n else '—'} |")
    if len(alphas) > 1:
        # Karimireddy, He & Jaggi's first claim is about heterogeneity itself: the same rule and attack across alpha.
        w("\n### Across heterogeneity: the same rule at each α (smaller α = more heterogeneous)\n")
        w("Unattacked: the rule's gap ÷ the mean's gap at the same α and seed (above 1: the rule loses accuracy to heterogeneity "
          "alone). Attacked: gap × (paired, as above) with its verdict. Only rules and attacks that ran at more than one α.\n")
        multi = [a for a in aggs if sum(1 for al in alphas if ref_by_seed(al, a)) > 1]
        w("| aggregator | measure | " + " | ".join(f"α = {al}" for al in alphas) + " |")
        w("|---|---|" + "---:|" * len(alphas))
        for agg in multi:
            entries = []
            for al in alphas:
                ref, mean_ref = ref_by_seed(al, agg), ref_by_seed(al, "mean")
                vs_mean = [num(r["final_gap"]) / num(mean_ref[s]["final_gap"]) for s, r in ref.items() if s in mean_ref]
                if agg == "mean" or not vs_mean:
                    entries.append("—")
                else:
                    entries.append(f"{text(interval(vs_mean))} {side(vs_mean)}")
            w(f"| {md(agg)} | unattacked ÷ mean | " + " | ".join(entries) + " |")
            for attack in attacks:
                entries, ran = [], 0
                for al in alphas:
                    byzs = byz_of(al, agg, attack)
                    rs = ratios(al, agg, attack, byzs[-1]) if byzs else []
                    if rs:
                        ran += 1
                        entries.append(f"{text(interval(rs))} {verdict(rs)}")
                    else:
                        entries.append("")
                if ran > 1:
                    w(f"| {md(agg)} | {attack} gap × | " + " | ".join(entries) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
