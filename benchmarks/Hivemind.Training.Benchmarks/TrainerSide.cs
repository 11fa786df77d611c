using System.Diagnostics;
using Hivemind.Data;

namespace Hivemind.Training.Benchmarks;

/// <summary>Real <see cref="LocalTrainer"/> inner steps (forward, loss, backward, clipping, AdamW), paused between steps so another side can run.</summary>
/// <remarks>
/// The trainer runs on its own thread (TorchSharp dispose scopes are thread-static, so a unit stays on one thread) and
/// blocks in its progress callback until the next <see cref="Step"/>; only one side computes at any moment.
/// </remarks>
internal sealed class TrainerSide : IBenchmarkSide
{
    private const double LearningRate = 1e-3;
    private const double WeightDecay = 0.1;
    private const double ClipNorm = 1.0;
    private const long Seed = 1;

    private readonly SemaphoreSlim _go = new(0);
    private readonly SemaphoreSlim _done = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _thread;
    private readonly int _steps;
    private int _taken;
    private double _last;
    private Exception? _failure;

    public TrainerSide(string name, ModelConfig config, int batch, int seq, int steps)
    {
        Name = name;
        _steps = steps;
        var shard = ShardSpec.Full(config);
        var theta = ModelInit.Initialize(config, 1);
        var data = BatchSources.Open(DataSpec.Synthetic(new SyntheticCorpusConfig(Seed: 1), [0.25, 0.25, 0.25, 0.25], 1));
        var options = new LocalTrainingOptions(steps, batch, seq, LearningRate, WeightDecay, 0, ClipNorm, Seed);
        options.Validate(config);
        _thread = new Thread(() => Run(config, theta, shard, data, options)) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public string Name { get; }

    public double Step()
    {
        if (++_taken > _steps) throw new InvalidOperationException($"{Name} was built for {_steps} steps; build it with more.");
        _go.Release();
        _done.Wait();
        if (_failure is not null) throw new InvalidOperationException($"{Name} failed at step {_taken}: {_failure.Message}", _failure);
        return _last;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _go.Release();
        _thread.Join();
        _go.Dispose();
        _done.Dispose();
        _stop.Dispose();
    }

    private void Run(ModelConfig config, Hivemind.Protocol.Tensors.ParameterSet theta, ShardSpec shard, IBatchSource data, LocalTrainingOptions options)
    {
        _go.Wait();
        long start = Stopwatch.GetTimestamp();
        try
        {
            LocalTrainer.Train(config, theta, shard, data, options, new Callback(_ =>
            {
                _last = Stopwatch.GetElapsedTime(start).TotalSeconds;
                _done.Release();
                _go.Wait();
                start = Stopwatch.GetTimestamp();
            }), _stop.Token);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            _failure = e;
            _done.Release();
        }
    }

    private sealed class Callback(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }
}
