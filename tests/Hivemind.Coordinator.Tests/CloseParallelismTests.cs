using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Rounds.Closing;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Tests;

/// <summary>
/// The round close's parallel work stays within <see cref="CoordinatorOptions.CloseParallelism"/> (issue 9's lease tail: a close that
/// took every core made lease calls queue behind it). No timing: a recording scheduler rides in the budget's options, so a loop that
/// ignores the budget never reaches it, and a loop without the cap shows as a worker that starts a second worker.
/// </summary>
public sealed class CloseParallelismTests : IDisposable
{
    private const string TrunkName = "embed.weight";

    // Several of the kernels' 16,384-coordinate chunks, so every loop has more than one iteration to spread.
    private const int TrunkLength = 3 * 16384 + 100;

    private const int Updates = 7;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "hivemind-close-parallelism-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static ParameterSet Global() => new([new NamedTensor(TrunkName, [TrunkLength], new float[TrunkLength])]);

    private static RoundModelState State() =>
        new(Global(), new OuterOptimizer(1.0, 0), new Dictionary<string, float[]> { [TensorGroups.Trunk] = [] });

    private static List<RoundInput> Inputs()
    {
        var random = new Random(9);
        return Enumerable.Range(0, Updates).Select(i =>
        {
            var values = new float[TrunkLength];
            for (int j = 0; j < values.Length; j++) values[j] = (float)(random.NextDouble() - 0.5);
            var payload = new ParameterSet([new NamedTensor(TrunkName, [TrunkLength], values)]);
            return new RoundInput($"v{i}", Version: 0, i, payload, Weight: 1024, Loss: 2.0, TrunkNorm: 1.0, OnProbation: false);
        }).ToList();
    }

    private static RecordingScheduler Decide(string rule, int maxDegree)
    {
        var scheduler = new RecordingScheduler();
        var rules = new RoundRules(rule, rule, Replication: 1, MinExpertHolders: 1)
        {
            Parallelism = new ParallelOptions { MaxDegreeOfParallelism = maxDegree, TaskScheduler = scheduler },
        };
        var current = State();
        var decision = RoundAggregation.Decide(new TensorGroups(current.Global), current, Inputs(), rules);
        Assert.Null(Assert.Single(decision.Groups).SkipReason);
        return scheduler;
    }

    [Theory]
    [InlineData("median")]
    [InlineData("trimmed-mean(f=1)")]
    [InlineData("mean")]
    [InlineData("geomed")]
    [InlineData("cclip(tau=1)")]
    [InlineData("krum(f=1)")]
    [InlineData("multi-krum(f=1)")]
    [InlineData("bulyan(f=1)")]
    [InlineData("nnm(f=1) | trimmed-mean(f=1)")]
    [InlineData("arc(f=1) | median")]
    [InlineData("clip(tau=1) | mean")]
    [InlineData("bucketing(s=2) | median")]
    public void EveryParallelLoopOfTheCloseKeepsToItsBudget(string rule)
    {
        var capped = Decide(rule, maxDegree: 1);

        Assert.True(capped.Started > 0, $"no parallel loop of '{rule}' ran with the close's options: the budget did not reach the kernels");
        Assert.Equal(0, capped.StartedFromWorker);

        // The same close with room for two: the recorder does see a loop spread out, so the assertion above can fail.
        var spread = Decide(rule, maxDegree: 2);
        Assert.True(spread.StartedFromWorker > 0, $"'{rule}' with a budget of 2 started no second worker");
    }

    [Fact]
    public void TheCheckpointWritesRunWithTheCloseBudget()
    {
        var scheduler = new RecordingScheduler();
        var store = new CheckpointStore(_dir);

        store.Save(1, Global(), new OuterOptimizer(1.0, 0), new Dictionary<string, float[]?>(),
            new ParallelOptions { MaxDegreeOfParallelism = 1, TaskScheduler = scheduler });

        Assert.True(scheduler.Started > 0, "the checkpoint's writes did not run with the given options");
        Assert.Equal(0, scheduler.StartedFromWorker);
        Assert.True(File.Exists(store.ParametersPath(1)));
    }

    [Fact]
    public void ACoordinatorLeavesOneCoreToItsCallsByDefault()
    {
        var options = new CoordinatorOptions();

        Assert.Equal(Math.Max(1, Environment.ProcessorCount - 1), options.CloseParallelism);
        Assert.Equal(options.CloseParallelism, RoundRules.From(options).Parallelism!.MaxDegreeOfParallelism);
        Assert.Equal(3, RoundRules.From(options with { CloseParallelism = 3 }).Parallelism!.MaxDegreeOfParallelism);
    }

    [Fact]
    public void ANonPositiveCloseParallelismIsRefusedByName()
    {
        var e = Assert.Throws<ArgumentException>(() => new CoordinatorOptions { CloseParallelism = 0 }.Validate());

        Assert.Contains("close-parallelism 0", e.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Runs tasks on the thread pool and counts them, and counts the tasks started from inside one of its own tasks: a parallel loop
    /// allowed more than one worker starts its second worker from its first (deterministically, before iterating), a capped one never.
    /// </summary>
    private sealed class RecordingScheduler : TaskScheduler
    {
        [ThreadStatic]
        private static RecordingScheduler? _running;

        private int _started;
        private int _startedFromWorker;

        public int Started => Volatile.Read(ref _started);

        public int StartedFromWorker => Volatile.Read(ref _startedFromWorker);

        protected override void QueueTask(Task task)
        {
            Count();
            ThreadPool.UnsafeQueueUserWorkItem(_ => Run(task), null);
        }

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued)
        {
            if (!taskWasPreviouslyQueued) Count();
            return Run(task);
        }

        protected override IEnumerable<Task> GetScheduledTasks() => [];

        private void Count()
        {
            Interlocked.Increment(ref _started);
            if (ReferenceEquals(_running, this)) Interlocked.Increment(ref _startedFromWorker);
        }

        private bool Run(Task task)
        {
            var outer = _running;
            _running = this;
            try
            {
                return TryExecuteTask(task);
            }
            finally
            {
                _running = outer;
            }
        }
    }
}
