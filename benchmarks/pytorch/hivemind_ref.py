#!/usr/bin/python3
"""PyTorch reference of Hivemind's MoE transformer (src/Training/Model).

Same parameter names and math as the TorchSharp model, so it loads our safetensors checkpoints.
Runs on Debian's python3-torch (1.13) with numpy; no other package.

  logits:  hivemind_ref.py logits --config cfg.json --checkpoint model.safetensors --tokens t.i64 --batch B --seq T --out logits.f32
  bench:   hivemind_ref.py bench --preset small --batch 16 --seq 256 --steps 5 --threads 2
  serve:   hivemind_ref.py serve --preset small --batch 8 --seq 256 --threads 2   (one timed step per 'step' line on stdin)
"""
import argparse
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

VOCAB = 256  # bytes; a config's "vocab" (e.g. 50257 for GPT-2's BPE) overrides it

PRESETS = {
    "tiny": dict(layers=2, width=64, heads=4, experts=4, top_k=2, expert_hidden=128, context=64),
    "small": dict(layers=4, width=256, heads=4, experts=8, top_k=2, expert_hidden=512, context=256),
    "base": dict(layers=8, width=768, heads=12, experts=8, top_k=2, expert_hidden=768, context=512),
}


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
        if info["dtype"] != "F32":
            raise ValueError(f"{path}: tensor {name} has dtype {info['dtype']}, only F32 is supported")
        b, e = info["data_offsets"]
        arr = np.frombuffer(body[b:e], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class FeedForward(torch.nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.w1 = torch.nn.Parameter(torch.empty(hidden, width))
        self.w2 = torch.nn.Parameter(torch.empty(width, hidden))

    def forward(self, x):
        return F.linear(F.gelu(F.linear(x, self.w1)), self.w2)


class Attention(torch.nn.Module):
    def __init__(self, c, layer):
        super().__init__()
        self.heads = c["heads"]
        # GPT-Neo: with a local window W, odd layers attend only to the W most recent positions.
        window = c.get("local_window", 0)
        self.window = window if window > 0 and layer % 2 == 1 else 0
        self.qkv = torch.nn.Linear(c["width"], 3 * c["width"], bias=False)
        self.proj = torch.nn.Linear(c["width"], c["width"], bias=False)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        # torch 1.13 has no scaled_dot_product_attention: the same math, spelled out.
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        if self.window:
            # GPT-Neo's local bias: tril XOR tril(-W); masked here where i - j >= W.
            mask = mask | torch.ones(t, t, dtype=torch.bool).tril(-self.window)
        y = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


def expert_capacity(c, tokens):
    """Most (token, slot) assignments one expert takes: ModelConfig.ExpertCapacity in src/Training/Model/ModelConfig.cs."""
    cf = c.get("capacity_factor", 0)
    if cf == 0:
        return tokens
    return min(tokens, math.ceil(cf * tokens * c["top_k"] / c["experts"]))


class Moe(torch.nn.Module):
    """Same dispatch as src/Training/Model/ExpertDispatch.cs: assignments numbered slot-major, sorted stably by expert
    into contiguous blocks, each block cut at the expert capacity (first choices before second choices, then token
    order), one matmul pair per expert, gate-weighted sum per token; dropped assignments contribute zero."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        self.top_k = c["top_k"]
        self.n = c["experts"]
        self.gate = torch.nn.Linear(c["width"], c["experts"], bias=False)
        self.experts = torch.nn.ModuleDict({str(e): FeedForward(c["width"], c["expert_hidden"]) for e in range(c["experts"])})
        self.balance = None
        self.dropped = 0

    def forward(self, x):
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        n, d = flat.shape
        k = self.top_k
        logits = self.gate(flat)
        probs = logits.softmax(-1)
        top_idx = logits.topk(k, dim=-1).indices
        top_w = probs.gather(1, top_idx)
        expert_of = top_idx.t().reshape(-1)  # assignment a = slot * n + token
        counts = torch.bincount(expert_of, minlength=self.n)
        self.balance = (counts.float() / (n * k) * probs.mean(0)).sum() * self.n
        capacity = expert_capacity(self.c, n)
        order = torch.sort(expert_of, stable=True).indices
        routed = counts.tolist()
        kept = [min(r, capacity) for r in routed]
        starts = [sum(routed[:e]) for e in range(self.n)]
        kept_order = torch.cat([order[starts[e]:starts[e] + kept[e]] for e in range(self.n)])
        self.dropped += n * k - len(kept_order)
        token = kept_order % n
        blocks = flat[token].split(kept)
        outs = [self.experts[str(e)](blocks[e]) for e in range(self.n) if kept[e] > 0]
        ys = torch.cat(outs + [torch.zeros(1, d)])  # last row: the output of a dropped assignment
        rows = torch.full((n * k,), len(kept_order), dtype=torch.long)
        rows[kept_order] = torch.arange(len(kept_order))
        per_slot = ys[rows.view(k, n).t().reshape(-1)].view(n, k, d)
        return (top_w.unsqueeze(2) * per_slot).sum(1).reshape(shape)


class Block(torch.nn.Module):
    def __init__(self, c, layer):
        super().__init__()
        self.ln1 = torch.nn.LayerNorm(c["width"])
        self.attn = Attention(c, layer)
        self.ln2 = torch.nn.LayerNorm(c["width"])
        if c.get("dense"):
            self.mlp = FeedForward(c["width"], c["top_k"] * c["expert_hidden"])
        else:
            self.moe = Moe(c)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        ffn = self.mlp if hasattr(self, "mlp") else self.moe
        return x + ffn(self.ln2(x))


class Model(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        vocab = c.get("vocab", VOCAB)
        self.tok_emb = torch.nn.Embedding(vocab, c["width"])
        self.pos_emb = torch.nn.Embedding(c["context"], c["width"])
        self.blocks = torch.nn.ModuleList([Block(c, layer) for layer in range(c["layers"])])
        self.ln_f = torch.nn.LayerNorm(c["width"])
        self.head = torch.nn.Linear(c["width"], vocab, bias=False)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.tok_emb(tokens) + self.pos_emb(torch.arange(t))
        for b in self.blocks:
            x = b(x)
        logits = self.head(self.ln_f(x))
        moes = [b.moe.balance for b in self.blocks if hasattr(b, "moe")]
        balance = sum(moes) / len(moes) if moes else torch.zeros(())
        return logits, balance


def cmd_logits(a):
    c = json.load(open(a.config))
    model = Model(c)
    state = read_safetensors(a.checkpoint)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        sys.exit(f"checkpoint {a.checkpoint} does not match the config: missing {missing}, unexpected {unexpected}")
    tokens = torch.from_numpy(np.fromfile(a.tokens, dtype="<i8").reshape(a.batch, a.seq))
    with torch.no_grad():
        logits, _ = model(tokens)
    logits.numpy().astype("<f4").tofile(a.out)
    print(json.dumps({"dropped": [b.moe.dropped for b in model.blocks if hasattr(b, "moe")]}))


def make_trainer(a):
    """The benchmark's model, AdamW and one training step (same hyper-parameters as LocalTrainer's benchmark unit)."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = dict(PRESETS[a.preset])
    c["dense"] = a.dense
    c["capacity_factor"] = a.capacity_factor
    model = Model(c)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if p.dim() == 1:
                p.fill_(1.0 if name.endswith("weight") else 0.0)
            else:
                p.normal_(0, 0.02)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    g = torch.Generator().manual_seed(1)

    def step():
        tokens = torch.randint(0, VOCAB, (a.batch, a.seq + 1), generator=g)
        logits, balance = model(tokens[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), tokens[:, 1:].reshape(-1)) + 0.01 * balance
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    return step


def cmd_bench(a):
    step = make_trainer(a)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    median = sorted(times)[len(times) // 2]
    print(json.dumps({"preset": a.preset, "dense": a.dense, "threads": a.threads, "batch": a.batch, "seq": a.seq,
                      "median_step_s": median, "tokens_per_s": a.batch * a.seq / median, "torch": torch.__version__}))


def cmd_serve(a):
    """One timed training step per 'step' line on stdin, for the interleaved benchmark (Hivemind.Training.Benchmarks)."""
    step = make_trainer(a)
    print(json.dumps({"ready": True, "torch": torch.__version__}), flush=True)
    for line in sys.stdin:
        if line.strip() != "step":
            sys.exit(f"serve: expected 'step', got {line.strip()!r}")
        t0 = time.perf_counter()
        step()
        print(json.dumps({"step_s": time.perf_counter() - t0}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    lg = sub.add_parser("logits")
    lg.add_argument("--config", required=True)
    lg.add_argument("--checkpoint", required=True)
    lg.add_argument("--tokens", required=True)
    lg.add_argument("--batch", type=int, required=True)
    lg.add_argument("--seq", type=int, required=True)
    lg.add_argument("--out", required=True)
    for name in ("bench", "serve"):
        bn = sub.add_parser(name)
        bn.add_argument("--preset", choices=PRESETS, default="small")
        bn.add_argument("--dense", action="store_true")
        bn.add_argument("--batch", type=int, default=16)
        bn.add_argument("--seq", type=int, default=256)
        bn.add_argument("--steps", type=int, default=5)
        bn.add_argument("--warmup", type=int, default=2)
        bn.add_argument("--threads", type=int, default=2)
        bn.add_argument("--capacity-factor", type=float, default=0.0)
    a = p.parse_args()
    {"logits": cmd_logits, "bench": cmd_bench, "serve": cmd_serve}[a.cmd](a)


if __name__ == "__main__":
    main()
