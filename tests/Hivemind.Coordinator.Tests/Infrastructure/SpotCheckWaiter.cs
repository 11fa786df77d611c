using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Verification;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>Collects an engine's spot-check outcomes and lets a test await a number of them (no polling, no sleeps).</summary>
public sealed class SpotCheckWaiter
{
    private readonly List<SpotCheckOutcome> _outcomes = [];
    private readonly List<(Func<IReadOnlyList<SpotCheckOutcome>, bool> Done, TaskCompletionSource Signal)> _waits = [];

    public SpotCheckWaiter(CoordinatorEngine engine) => engine.SpotCheckDecided += Add;

    public IReadOnlyList<SpotCheckOutcome> Outcomes
    {
        get { lock (_outcomes) return [.. _outcomes]; }
    }

    /// <summary>Waits until <paramref name="done"/> holds for the outcomes so far; fails naming what was awaited and what came.</summary>
    public async Task WaitAsync(Func<IReadOnlyList<SpotCheckOutcome>, bool> done, TimeSpan timeout, string what)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_outcomes)
        {
            if (done(_outcomes)) return;
            _waits.Add((done, signal));
        }
        try
        {
            await signal.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"waited {timeout} for {what}; spot-check outcomes so far: {string.Join(", ", Outcomes.Select(o => $"{o.WorkUnitId}={o.Verdict}"))}");
        }
    }

    public Task WaitForCountAsync(int count, TimeSpan timeout) => WaitAsync(o => o.Count >= count, timeout, $"{count} spot-check outcomes");

    private void Add(SpotCheckOutcome outcome)
    {
        lock (_outcomes)
        {
            _outcomes.Add(outcome);
            foreach (var w in _waits.Where(w => w.Done(_outcomes)).ToList())
            {
                _waits.Remove(w);
                w.Signal.TrySetResult();
            }
        }
    }
}
