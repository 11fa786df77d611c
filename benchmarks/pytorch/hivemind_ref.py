#!/usr/bin/python3
"""PyTorch reference of Hivemind's MoE transformer (src/Training/Model).

Same parameter names and math as the TorchSharp model, so it loads our safetensors checkpoints.
Runs on Debian's python3-torch (1.13) with numpy; no other package.

  logits:  hivemind_ref.py logits --config cfg.json --checkpoint model.safetensors --tokens t.i64 --batch B --seq T --out logits.f32
  bench:   hivemind_ref.py bench --preset small --batch 16 --seq 256 --steps 5 --threads 2
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


class Moe(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.top_k = c["top_k"]
        self.n = c["experts"]
        self.gate = torch.nn.Linear(c["width"], c["experts"], bias=False)
        self.experts = torch.nn.ModuleDict({str(e): FeedForward(c["width"], c["expert_hidden"]) for e in range(c["experts"])})
        self.balance = None

    def forward(self, x):
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        n = flat.shape[0]
        logits = self.gate(flat)
        probs = logits.softmax(-1)
        top_idx = logits.topk(self.top_k, dim=-1).indices
        top_w = probs.gather(1, top_idx)
        assign = top_idx.reshape(-1)
        counts = torch.bincount(assign, minlength=self.n)
        self.balance = (counts.float() / (n * self.top_k) * probs.mean(0)).sum() * self.n
        order = assign.argsort()
        token = order // self.top_k
        weight = top_w.reshape(-1)[order].unsqueeze(1)
        slices = flat[token].split(counts.tolist())
        outs = [self.experts[str(e)](s) for e, s in enumerate(slices) if s.shape[0] > 0]
        mixed = torch.cat(outs, 0) * weight
        return torch.zeros_like(flat).index_add(0, token, mixed).reshape(shape)


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


def cmd_bench(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = dict(PRESETS[a.preset])
    c["dense"] = a.dense
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
    bn = sub.add_parser("bench")
    bn.add_argument("--preset", choices=PRESETS, default="small")
    bn.add_argument("--dense", action="store_true")
    bn.add_argument("--batch", type=int, default=16)
    bn.add_argument("--seq", type=int, default=256)
    bn.add_argument("--steps", type=int, default=5)
    bn.add_argument("--warmup", type=int, default=2)
    bn.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    {"logits": cmd_logits, "bench": cmd_bench}[a.cmd](a)


if __name__ == "__main__":
    main()
