using System.Diagnostics;
using System.Globalization;
using Hivemind.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Benchmarks;

/// <summary>
/// Where a training step's time goes: each op family of the model timed alone, forward + backward at the step's shapes,
/// with the matrix products' FLOP rates against the same run's 2048³ sgemm, and one whole step for the sum to be compared
/// with. Pieces are interleaved round by round (rotating order) like the main benchmark; medians are printed.
/// </summary>
internal static class StepProfile
{
    public static void Run(string preset, int batch, int seq, int rounds, int warmup)
    {
        var inv = CultureInfo.InvariantCulture;
        var config = ModelConfig.Preset(preset);
        long d = config.Width, n = (long)batch * seq, h = config.ExpertHidden, e = config.Experts, k = config.TopK;
        long perExpert = n * k / e;
        var generator = new Generator(1);
        using var scalars = new ScalarScope();
        var small = scalars.Of(0.02);
        Tensor Leaf(params long[] shape) => randn(shape, generator: generator).mul_(small).requires_grad_(true).DetachFromDisposeScope();
        var pieces = new List<(string Name, double Flops, Action Run)>();

        // Forward + backward through autograd.grad, so nothing accumulates between rounds.
        void Grad(Tensor output, params Tensor[] inputs)
        {
            using var g = ones_like(output);
            autograd.grad([output], inputs, [g]);
        }

        void Linear(string name, long m, long kk, long nn_)
        {
            var x = Leaf(m, kk);
            var w = Leaf(nn_, kk);
            pieces.Add((name, 6.0 * m * kk * nn_, () => Grad(nn.functional.linear(x, w), x, w)));
        }

        var a = randn(2048, 2048, generator: generator).DetachFromDisposeScope();
        var b = randn(2048, 2048, generator: generator).DetachFromDisposeScope();
        pieces.Add(("sgemm 2048³ (peer)", 2.0 * 2048 * 2048 * 2048, () => { using var c = a.mm(b); }));
        Linear($"linear qkv {n}×{d}→{3 * d} f+b", n, d, 3 * d);
        Linear($"linear proj {n}×{d}→{d} f+b", n, d, d);
        Linear($"linear head {n}×{d}→{config.VocabSize} f+b", n, d, config.VocabSize);
        Linear($"linear expert w1 {perExpert}×{d}→{h} f+b", perExpert, d, h);
        Linear($"linear expert w2 {perExpert}×{h}→{d} f+b", perExpert, h, d);
        Linear($"linear dense w1 {n}×{d}→{k * h} f+b", n, d, k * h);
        Linear($"linear dense w2 {n}×{k * h}→{d} f+b", n, k * h, d);

        long heads = config.Heads, hd = d / heads;
        var q = Leaf(batch, heads, seq, hd);
        var kt = Leaf(batch, heads, seq, hd);
        var v = Leaf(batch, heads, seq, hd);
        // Kaplan's count: 6 × seq × width per token per layer (the causal half of the score and mixing products).
        pieces.Add(("sdpa causal f+b", 6.0 * n * seq * d, () => Grad(nn.functional.scaled_dot_product_attention(q, kt, v, is_casual: true), q, kt, v)));

        pieces.Add(("sdpa causal fwd only", 2.0 * n * seq * d, () => { using var _ = no_grad(); nn.functional.scaled_dot_product_attention(q, kt, v, is_casual: true); }));
        var causalBias = CausalSelfAttention.LocalMask(seq, seq, q.device).logical_not().to_type(ScalarType.Float32).mul_(scalars.Of(float.NegativeInfinity)).nan_to_num_(0.0, double.NegativeInfinity, double.NegativeInfinity).DetachFromDisposeScope();
        Tensor MathAttention()
        {
            var q3 = q.reshape(batch * heads, seq, hd);
            var k3 = kt.reshape(batch * heads, seq, hd);
            var v3 = v.reshape(batch * heads, seq, hd);
            var scores = q3.baddbmm(k3.transpose(1, 2), causalBias, 1f, (float)(1.0 / Math.Sqrt(hd)));
            return scores.softmax(-1).bmm(v3).view(batch, heads, seq, hd);
        }
        // Query blocks: block i attends only to keys [0, end of block i), skipping the masked upper-right blocks.
        Tensor SplitAttention(int parts)
        {
            var q3 = q.reshape(batch * heads, seq, hd);
            var k3 = kt.reshape(batch * heads, seq, hd);
            var v3 = v.reshape(batch * heads, seq, hd);
            long block = seq / parts;
            var outs = new List<Tensor>();
            for (int i = 0; i < parts; i++)
            {
                long start = i * block, end = i == parts - 1 ? seq : start + block;
                var scores = q3.narrow(1, start, end - start).baddbmm(k3.narrow(1, 0, end).transpose(1, 2),
                    causalBias.narrow(0, start, end - start).narrow(1, 0, end), 1f, (float)(1.0 / Math.Sqrt(hd)));
                outs.Add(scores.softmax(-1).bmm(v3.narrow(1, 0, end)));
            }
            return cat(outs, 1).view(batch, heads, seq, hd);
        }
        pieces.Add(("split-2 attention f+b", 6.0 * n * seq * d, () => Grad(SplitAttention(2), q, kt, v)));
        pieces.Add(("split-4 attention f+b", 6.0 * n * seq * d, () => Grad(SplitAttention(4), q, kt, v)));
        pieces.Add(("math attention (baddbmm+softmax+bmm) f+b", 6.0 * n * seq * d, () => Grad(MathAttention(), q, kt, v)));
        pieces.Add(("math attention fwd only", 2.0 * n * seq * d, () => { using var _ = no_grad(); MathAttention(); }));
        pieces.Add(("sdpa float mask f+b", 6.0 * n * seq * d, () => Grad(nn.functional.scaled_dot_product_attention(q, kt, v, attn_mask: causalBias), q, kt, v)));
        var x3 = Leaf(batch, seq, d);
        var attn = new CausalSelfAttention(config, 0);
        var ln = nn.LayerNorm(d);
        var dense = new FeedForward(d, k * h);
        var moe = new MoeFeedForward(config, 0, [.. Enumerable.Range(0, (int)e)]);
        using (no_grad())
        {
            foreach (var p in attn.parameters().Concat(dense.parameters()).Concat(moe.parameters()))
                p.copy_(randn(p.shape, generator: generator).mul_(small));
        }
        Tensor[] With(Tensor x, nn.Module m) => [x, .. m.parameters()];
        pieces.Add(("attention block f+b", 6.0 * n * 4 * d * d + 6.0 * n * seq * d, () => Grad(attn.forward(x3), With(x3, attn))));
        pieces.Add(("layer norm f+b", 0, () => Grad(ln.forward(x3), With(x3, ln))));
        var hid = Leaf(n, k * h);
        pieces.Add(($"gelu {n}×{k * h} f+b", 0, () => Grad(nn.functional.gelu(hid), hid)));
        var x2 = Leaf(n, d);
        pieces.Add(("dense FFN f+b", 6.0 * n * 2 * d * k * h, () => Grad(dense.forward(x2), With(x2, dense))));
        pieces.Add(("MoE layer f+b (router..combine)", 6.0 * n * (2 * d * k * h + d * e), () =>
        {
            var y = moe.forward(x2);
            Grad(y.add(moe.LastBalanceLoss!, ScalarScope.One), With(x2, moe));
        }));
        var blocks = new List<Tensor>();
        var experts = new List<FeedForward>();
        for (int i = 0; i < e; i++)
        {
            blocks.Add(Leaf(perExpert, d));
            experts.Add(new FeedForward(d, h));
            using (no_grad())
                foreach (var p in experts[i].parameters()) p.copy_(randn(p.shape, generator: generator).mul_(small));
        }
        pieces.Add(($"{e} experts alone, {perExpert} rows each, f+b", 6.0 * n * 2 * d * k * h, () =>
        {
            var ins = new List<Tensor>();
            var outs = new List<Tensor>();
            for (int i = 0; i < e; i++)
            {
                outs.Add(experts[i].forward(blocks[i]).sum());
                ins.Add(blocks[i]);
                ins.AddRange(experts[i].parameters());
            }
            autograd.grad([stack(outs).sum()], ins);
        }));

        var head = Leaf(config.VocabSize, d);
        var targets = randint(config.VocabSize, [n], generator: generator).DetachFromDisposeScope();
        pieces.Add(("chunked cross-entropy (head incl.) f+b", 6.0 * n * d * config.VocabSize,
            () => Grad(ChunkedCrossEntropy.MeanLoss(x2, head, targets), x2, head)));
        pieces.Add(("plain cross_entropy (head incl.) f+b", 6.0 * n * d * config.VocabSize,
            () => Grad(nn.functional.cross_entropy(x2.matmul(head.t()), targets), x2, head)));
        var emb = nn.Embedding(config.VocabSize, d);
        var tokens = randint(config.VocabSize, [batch, seq], generator: generator).DetachFromDisposeScope();
        pieces.Add(("embedding f+b", 0, () => Grad(emb.forward(tokens), [.. emb.parameters()])));

        long total = config.TotalParameters;
        // The optimizer both ways in one process (session 11): the one-pass kernel and the libtorch ops it replaced.
        foreach (var (fused, kernelThreads, label) in new[] { (true, (int?)null, "fused"), (true, 1, "fused, 1 thread"), (false, null, "libtorch ops") })
        {
            var param = new TorchSharp.Modules.Parameter(zeros(total));
            var optimizer = new FlatAdamW([param], 0.9, 0.95, 1e-8, 0.1, fusedKernel: fused) { KernelThreads = kernelThreads };
            // A gradient to clip, so the clipping branch runs; its copy into the buffer is timed alone on the next line.
            var gradient = randn(total, generator: generator).DetachFromDisposeScope();
            pieces.Add(($"AdamW zero+clip+step {total / 1e6:F2}M, {label}", 0, () =>
            {
                optimizer.ZeroGrad();
                param.grad!.copy_(gradient);
                optimizer.ClipGradNorm(1.0);
                optimizer.Step(1e-3);
            }));
            if (fused && kernelThreads is null)
            {
                pieces.Add(("  of which the gradient's copy_ (not AdamW)", 0, () => param.grad!.copy_(gradient)));
                pieces.Add(("  zero_ alone", 0, () => param.grad!.zero_()));
            }
            // The norm, clipping and step alone (the gradient left as the last piece did; its norm stays at the clip, so
            // clipping still scales it every time on both paths).
            pieces.Add(($"AdamW clip+step only, {label}", 0, () =>
            {
                optimizer.ClipGradNorm(1.0);
                optimizer.Step(1e-3);
            }));
        }

        // Whole LocalTrainer steps (forward, loss, backward, clipping, AdamW) of the model and its dense twin, for the sums above.
        var disposables = new List<IDisposable>();
        // The MoE step three ways (session 11's A/B): the fused AdamW kernel on the intra-op thread count, on one thread, and
        // the libtorch ops it replaced; paired per-round ratios against the first are printed at the end.
        var wholeSteps = new List<int>();
        foreach (var (cfg, fused, kernelThreads, label) in new[]
                 {
                     (config, true, (int?)null, ""), (config.AsDense(), true, null, ""),
                     (config, true, 1, ", AdamW kernel on 1 thread"), (config, false, null, ", AdamW as libtorch ops"),
                 })
        {
            var model = MoeTransformer.Create(cfg, ShardSpec.Full(cfg), ModelInit.Initialize(cfg, 1));
            model.train();
            var adamw = new FlatAdamW([.. model.parameters()], 0.9, 0.95, 1e-8, 0.1, fusedKernel: fused) { KernelThreads = kernelThreads };
            var data = Hivemind.Data.BatchSources.Open(Hivemind.Data.DataSpec.Synthetic(new Hivemind.Data.SyntheticCorpusConfig(Seed: 1), [0.25, 0.25, 0.25, 0.25], 1));
            var options = new LocalTrainingOptions(1000, batch, seq, 1e-3, 0.1, 0, 1.0, 1);
            disposables.Add(model);
            disposables.Add(adamw);
            int stepNumber = 0;
            if (!cfg.Dense) wholeSteps.Add(pieces.Count);
            pieces.Add(($"whole step, {cfg.Name}{label}", cfg.TrainingFlopsPerTokenAt(seq) * n, () => LocalTrainer.Step(model, adamw, data, options, stepNumber++)));
        }

        Console.WriteLine(string.Format(inv, "step profile: {0}, batch {1} × seq {2}, {3} threads, {4} warm-up + {5} rounds; load average {6:F2}",
            config.Name, batch, seq, get_num_threads(), warmup, rounds, LoadAverage.OneMinute()));
        var times = pieces.Select(_ => new List<double>()).ToArray();
        for (int round = 0; round < warmup + rounds; round++)
        {
            for (int i = 0; i < pieces.Count; i++)
            {
                int s = (round + i) % pieces.Count;
                using var scope = NewDisposeScope();
                long start = Stopwatch.GetTimestamp();
                pieces[s].Run();
                double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (round >= warmup) times[s].Add(seconds);
            }
        }
        double peer = pieces[0].Flops / StepTimer.Median(times[0]);
        foreach (var (piece, i) in pieces.Select((p, i) => (p, i)))
        {
            double m = StepTimer.Median(times[i]);
            string rate = piece.Flops > 0 ? string.Format(inv, "{0,7:F1} GFLOP/s = {1,5:F1}% of sgemm", piece.Flops / m / 1e9, 100 * piece.Flops / m / peer) : "";
            Console.WriteLine(string.Format(inv, "{0,-46} {1,8:F2} ms  {2}", piece.Name, m * 1e3, rate));
        }
        foreach (int i in wholeSteps.Skip(1))
        {
            var ratio = MedianInterval.Of([.. times[i].Zip(times[wholeSteps[0]], (x, y) => x / y)]);
            Console.WriteLine(string.Format(inv, "paired ratio {0} ÷ {1}: {2:F3} [{3:F3}–{4:F3}]",
                pieces[i].Name, pieces[wholeSteps[0]].Name, ratio.Median, ratio.Low, ratio.High));
        }
        Console.WriteLine(string.Format(inv, "load average after {0:F2}", LoadAverage.OneMinute()));
    }
}
