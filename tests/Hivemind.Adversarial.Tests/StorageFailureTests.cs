using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.Errors;

namespace Hivemind.Adversarial.Tests;

/// <summary>Issue 9, class 11: when the coordinator's storage fails, the volunteer is told why, keeps its trained update and resends it.</summary>
public sealed class StorageFailureTests
{
    [Fact]
    public async Task AVolunteerKeepsItsUpdateAndResendsItAfterAStorageFailure()
    {
        // Real time: the volunteer's backoff runs on the system clock (bounded: a few seconds).
        await using var c = await LoopbackCoordinator.StartAsync(d => EngineHarness.TinyOptions(d) with { Quorum = 3 });
        // A file where the round's update folder must go: writing the first payload fails as a full disk would.
        string obstacle = Path.Combine(c.Engine.Options.DataDirectory, "updates", "r0");
        Directory.CreateDirectory(Path.GetDirectoryName(obstacle)!);
        await File.WriteAllTextAsync(obstacle, "not a folder");
        var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        c.Engine.Log += line =>
        {
            if (line.StartsWith("STORAGE FAILURE", StringComparison.Ordinal) && failed.TrySetResult()) File.Delete(obstacle);
        };
        var (client, view) = c.Volunteer(maxUnits: 1);
        var run = client.RunAsync(CancellationToken.None);
        await failed.Task.WaitAsync(TimeSpan.FromSeconds(120));
        await run.WaitAsync(TimeSpan.FromSeconds(120));

        Assert.Single(view.Accepted);
        Assert.Empty(view.Rejections);
        Assert.True(c.Engine.Store.Rejections()[RejectReason.CoordinatorStorage.Token()] >= 1);
        var volunteer = Assert.Single(c.Engine.Store.Volunteers());
        Assert.Single(c.Engine.Store.WorkUnits(0), w => w.VolunteerId == volunteer.Id); // trained once: no second lease, no retraining
        Assert.Equal(1, c.Engine.Store.LedgerCount());
    }
}
