using System.Diagnostics;
using Hivemind.Data;

namespace Hivemind.Training.Benchmarks;

/// <summary>Real <see cref="LocalTrainer"/> inner steps (forward, loss, backward, clipping, AdamW), one per <see cref="Step"/>.</summary>
/// <remarks>
/// The step runs on the calling thread, the benchmark's main thread, like every other in-process side (sgemm). Until
/// session 10 each trainer had its own thread, paused in its progress callback between steps: each thread then had its own
/// OpenMP team, so the process held more OpenMP threads than the 2 CPUs, and libgomp, seeing that, lets an idle worker spin
/// only ~100 times before it sleeps in the kernel; every parallel region of a step then waited for a futex wake-up. A
/// volunteer trains on one thread; so does this. The model, the optimizer (<see cref="LocalTrainer.CreateOptimizer"/>) and
/// the step (<see cref="LocalTrainer.Step"/>) are the trainer's own.
/// </remarks>
internal sealed class TrainerSide : IBenchmarkSide
{
    private const double LearningRate = 1e-3;
    private const double WeightDecay = 0.1;
    private const double ClipNorm = 1.0;
    private const long Seed = 1;

    private readonly MoeTransformer _model;
    private readonly FlatAdamW _optimizer;
    private readonly IBatchSource _data;
    private readonly LocalTrainingOptions _options;
    private readonly int _steps;
    private int _taken;

    /// <param name="fusedAdamW">false steps AdamW as libtorch ops instead of the one-pass kernel (the optimizer A/B).</param>
    public TrainerSide(string name, ModelConfig config, int batch, int seq, int steps, bool fusedAdamW = true)
    {
        Name = name;
        _steps = steps;
        var shard = ShardSpec.Full(config);
        var theta = ModelInit.Initialize(config, 1);
        _data = BatchSources.Open(DataSpec.Synthetic(new SyntheticCorpusConfig(Seed: 1), [0.25, 0.25, 0.25, 0.25], 1));
        _options = new LocalTrainingOptions(steps, batch, seq, LearningRate, WeightDecay, 0, ClipNorm, Seed);
        _options.Validate(config);
        TorchSharp.torch.manual_seed(_options.Seed);
        _model = MoeTransformer.Create(config, shard, theta);
        _model.train();
        _optimizer = LocalTrainer.CreateOptimizer(_model, _options, fusedAdamW);
    }

    public string Name { get; }

    public double Step()
    {
        if (_taken >= _steps) throw new InvalidOperationException($"{Name} was built for {_steps} steps; build it with more.");
        long start = Stopwatch.GetTimestamp();
        LocalTrainer.Step(_model, _optimizer, _data, _options, _taken++);
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    public void Dispose()
    {
        _optimizer.Dispose();
        _model.Dispose();
    }
}
