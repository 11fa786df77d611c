using Hivemind.Training;
using Hivemind.Volunteer.Client;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>In-process volunteer clients pointed at any coordinator address (for tests whose coordinator is a child process).</summary>
public sealed class VolunteerPool(string scratch) : IAsyncDisposable
{
    private readonly List<IDisposable> _owned = [];
    private int _next;

    /// <summary>Runs <paramref name="count"/> fresh volunteers for <paramref name="unitsEach"/> units each; returns how many updates were accepted.</summary>
    public async Task<int> RunAsync(string address, int count, int unitsEach, TimeSpan timeout)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        var views = new List<LoopbackCoordinator.RecordingView>();
        var runs = new List<Task<int>>();
        for (int i = 0; i < count; i++)
        {
            var (client, view) = TestVolunteer.Create(address, Path.Combine(scratch, $"pool-cache-{_next++}"), _owned, maxUnits: unitsEach);
            views.Add(view);
            runs.Add(Task.Run(() => client.RunAsync(CancellationToken.None)));
        }
        try
        {
            await Task.WhenAll(runs).WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{count} volunteers did not finish {unitsEach} unit(s) each within {timeout}: " +
                string.Join("; ", views.Select((v, i) => $"v{i}: accepted {v.Accepted.Count}, rejected [{string.Join(",", v.Rejections)}], " +
                                                         $"waits [{string.Join(" | ", v.Waits.Distinct())}], errors [{string.Join(" | ", v.Errors)}]")));
        }
        return views.Sum(v => v.Accepted.Count);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var d in _owned) d.Dispose();
        return ValueTask.CompletedTask;
    }
}
