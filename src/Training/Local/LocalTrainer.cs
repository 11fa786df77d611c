using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Runs a work unit: H inner AdamW steps on a shard with the router masked to its experts, returning the pseudo-gradient.</summary>
public static class LocalTrainer
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.95;
    private const double Epsilon = 1e-8;

    /// <summary>Deterministic on CPU for the same parameters, data, options and thread count. Never returns a non-finite update.</summary>
    /// <exception cref="NonFiniteLossException">the loss or gradient norm became NaN or infinite.</exception>
    public static LocalTrainingResult Train(ModelConfig config, ParameterSet shardParams, ShardSpec shard, IBatchSource data,
        LocalTrainingOptions options, IProgress<TrainingProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(config);
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(options.Seed);
        using var model = MoeTransformer.Create(config, shard, shardParams);
        model.train();
        using var optimizer = CreateOptimizer(model, options);
        double lossSum = 0;
        long tokens = 0;
        for (int step = 0; step < options.InnerSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            double loss = Step(model, optimizer, data, options, step);
            lossSum += loss;
            tokens += (long)options.BatchSize * options.SeqLen;
            progress?.Report(new TrainingProgress(step + 1, options.InnerSteps, loss));
        }
        var end = model.ExportParameters();
        var delta = new ParameterSet();
        foreach (var t in end)
        {
            var start = shardParams[t.Name].Values;
            var d = new float[start.Length];
            for (int i = 0; i < d.Length; i++) d[i] = start[i] - t.Values[i];
            delta.Add(new NamedTensor(t.Name, t.Shape, d));
        }
        return new LocalTrainingResult(delta, lossSum / options.InnerSteps, tokens);
    }

    /// <summary>The unit's AdamW over <paramref name="model"/>'s parameters (the benchmark builds its steps from this and <see cref="Step"/>).</summary>
    /// <param name="fusedKernel">false: AdamW as libtorch ops rather than the one-pass CPU kernel (the benchmark's A/B).</param>
    internal static FlatAdamW CreateOptimizer(MoeTransformer model, LocalTrainingOptions options, bool fusedKernel = true) =>
        new([.. model.parameters()], Beta1, Beta2, Epsilon, options.WeightDecay, fusedKernel);

    /// <summary>One inner step: forward, cross-entropy + balance loss, backward, clipping, AdamW; returns the cross-entropy.</summary>
    internal static double Step(MoeTransformer model, FlatAdamW optimizer, IBatchSource data, LocalTrainingOptions options, int step)
    {
        var batch = data.Next(options.BatchSize, options.SeqLen);
        var (inputs, targets) = BatchTensors.Split(batch);
        options.TargetTransform?.Invoke(targets);
        using var scalars = new ScalarScope();
        using var scope = NewDisposeScope();
        var (hidden, balance) = model.ForwardHidden(BatchTensors.Inputs(inputs, options.BatchSize, options.SeqLen));
        // Chunked: with a 50,257-token vocabulary the whole batch's logits were most of the step's time and memory.
        var crossEntropy = ChunkedCrossEntropy.MeanLoss(hidden.reshape(-1, model.Config.Width), model.HeadWeight, tensor(targets));
        var loss = crossEntropy.add(balance, scalars.Of(model.Config.LoadBalanceWeight));
        double ce = crossEntropy.item<float>();
        double total = loss.item<float>();
        if (!double.IsFinite(total)) throw new NonFiniteLossException(step + 1, total);
        optimizer.ZeroGrad();
        loss.backward();
        // The norm before clipping; an infinite one would poison AdamW's moments, so the unit stops before the step.
        double norm = options.ClipNorm > 0 && !double.IsPositiveInfinity(options.ClipNorm)
            ? optimizer.ClipGradNorm(options.ClipNorm)
            : optimizer.GradNorm();
        if (!double.IsFinite(norm)) throw new NonFiniteLossException(step + 1, norm, "gradient norm");
        optimizer.Step(options.LearningRateAt(step));
        return ce;
    }
}
