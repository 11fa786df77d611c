#!/usr/bin/env python3
"""Doubt (b) for our coordinator: RTX 3090 volunteers needed to match a TPU v3-256 and 64xA100, against the
coordinator's link, the upload codec and the volunteers' upload speed, over seeds, as mean and 95% interval.

Usage (from the repository root, after `dotnet build simulations -c Release`):
    python3 simulations/sensitivity/doubt-b.py [--seeds 3] > table.md
Every cell is `run` of a variant of simulations/scenarios/pool.json (only the fields named in the table change).
"""
import argparse, json, math, os, re, subprocess, sys, tempfile

T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228]
DLL = os.environ.get("HIVEMIND_SIM_DLL", os.path.join("simulations", "bin", "Release", "net10.0", "Hivemind.Simulations.dll"))


def strip_comments(text):
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("//"))


def interval(values):
    finite = [v for v in values if v is not None]
    if len(finite) < len(values):
        return f"not within 10,000 in {len(values) - len(finite)} of {len(values)} seeds" + (f"; others {', '.join(str(v) for v in finite)}" if finite else "")
    n = len(finite)
    mean = sum(finite) / n
    if n < 2:
        return f"{mean:,.0f}"
    sd = math.sqrt(sum((v - mean) ** 2 for v in finite) / (n - 1))
    half = T95[n - 2] * sd / math.sqrt(n)
    return f"{mean:,.0f} [{mean - half:,.0f}, {mean + half:,.0f}]"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    base = json.loads(strip_comments(open(os.path.join("simulations", "scenarios", "pool.json")).read()))
    base.pop("sweep", None)
    base["clusterMatch"]["devices"] = ["rtx3090"]
    base["clusterMatch"]["linkMbps"] = [1000]
    print("| coordinator link | upload codec | volunteer upload | TPU v3-256 | 64×A100 |")
    print("|---:|---|---|---:|---:|")
    for link in [10000, 40000, 100000]:
        for codec in ["fp16", "int8"]:
            for upload in [None, 20]:
                needed = {"TPU": [], "A100": []}
                for seed in range(1, args.seeds + 1):
                    s = json.loads(json.dumps(base))
                    s["name"] = f"doubt-b-{link}-{codec}-{upload}-{seed}"
                    s["seed"] = seed
                    s["coordinator"]["linkMbps"] = link
                    s["codec"]["upload"] = codec
                    if upload is not None:
                        s["volunteers"]["uploadMbps"] = {"kind": "lognormal", "median": upload, "sigma": 0.5}
                    with tempfile.TemporaryDirectory() as tmp:
                        path = os.path.join(tmp, "s.json")
                        json.dump(s, open(path, "w"))
                        subprocess.run(["dotnet", DLL, "run", path, "--out", os.path.join(tmp, "out")], check=True, stdout=subprocess.DEVNULL)
                        report = open(os.path.join(tmp, "out", "report.md")).read()
                    for row in report.splitlines():
                        m = re.match(r"\| rtx3090 \| 1000 \| ([^|]+) \| [^|]+ \| ([^|]+) \|", row)
                        if m:
                            key = "TPU" if "TPU" in m.group(1) else "A100"
                            v = m.group(2).strip()
                            needed[key].append(None if v.startswith("not") else int(v.replace(",", "")))
                # The match moves the download centre from the scenario's 100 to 1000 Mb/s and the upload by the same factor.
                up = "= download (median 1000 Mb/s)" if upload is None else f"download / {100 // upload} (median {upload * 10} Mb/s)"
                print(f"| {link / 1000:g} Gb/s | {codec} | {up} | {interval(needed['TPU'])} | {interval(needed['A100'])} |", flush=True)


if __name__ == "__main__":
    main()
