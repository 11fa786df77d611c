using Hivemind.Simulations.Simulation;

namespace Hivemind.Simulations.Tests;

public sealed class EventQueueTests
{
    [Fact]
    public void Events_fire_in_time_order_and_ties_in_scheduling_order()
    {
        var queue = new EventQueue<string>();
        queue.Schedule(2, "c");
        queue.Schedule(1, "a");
        queue.Schedule(1, "b");

        var fired = new List<(double, string)>();
        while (queue.TryNext(out var e))
        {
            fired.Add((queue.Now, e));
        }

        Assert.Equal([(1.0, "a"), (1.0, "b"), (2.0, "c")], fired);
    }

    [Fact]
    public void Scheduling_in_the_past_is_refused()
    {
        var queue = new EventQueue<int>();
        queue.Schedule(5, 1);
        Assert.True(queue.TryNext(out _));
        Assert.Throws<ArgumentOutOfRangeException>(() => queue.Schedule(4, 2));
    }
}
