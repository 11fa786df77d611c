#!/usr/bin/python3
"""torch.optim.AdamW on given parameters and gradients: the reference FlatAdamW is checked against.

  adamw_ref.py --case case.json --tensors tensors.safetensors --out state.f32

case.json: {"names": [...], "steps": N, "lrs": [...], "betas": [b1, b2], "eps": e, "weight_decay": w, "clip": c}
tensors.safetensors: the initial parameter "<name>" and the gradient "grad.<step>.<name>" of every step.
state.f32: final parameters, then exp_avg, then exp_avg_sq, each flattened in the order of "names" (little-endian f32).
Runs on Debian's python3-torch (1.13) with numpy; no other package.
"""
import argparse
import json
import struct

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[b:e], dtype="<f4").reshape(info["shape"]).copy())
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--case", required=True)
    p.add_argument("--tensors", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    case = json.load(open(a.case))
    tensors = read_safetensors(a.tensors)
    params = [torch.nn.Parameter(tensors[n].clone()) for n in case["names"]]
    opt = torch.optim.AdamW(params, lr=case["lrs"][0], betas=tuple(case["betas"]), eps=case["eps"],
                            weight_decay=case["weight_decay"])
    for step in range(case["steps"]):
        for n, prm in zip(case["names"], params):
            prm.grad = tensors[f"grad.{step}.{n}"].clone()
        if case["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(params, case["clip"])
        for group in opt.param_groups:
            group["lr"] = case["lrs"][step]
        opt.step()
    parts = [prm.detach().reshape(-1) for prm in params]
    parts += [opt.state[prm]["exp_avg"].reshape(-1) for prm in params]
    parts += [opt.state[prm]["exp_avg_sq"].reshape(-1) for prm in params]
    torch.cat(parts).numpy().astype("<f4").tofile(a.out)


if __name__ == "__main__":
    main()
