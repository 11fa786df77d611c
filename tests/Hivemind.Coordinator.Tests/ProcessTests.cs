using Grpc.Net.Client;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol.V1;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests;

/// <summary>Real processes killed with SIGKILL: the coordinator mid-round, a volunteer mid-unit.</summary>
public sealed class ProcessTests
{
    /// <summary>Bound on any one wait for a process to reach a point (start-up of libtorch included).</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private static string[] ServeArgs(string dataDirectory) =>
    [
        "serve", "--port", "0", "--data-directory", dataDirectory, "--preset", "tiny", "--seed", "7", "--quorum", "4",
        "--spare-leases", "0", "--inner-steps", "5", "--batch-size", "4", "--sequence-length", "32", "--eval-batches", "1",
    ];

    [Fact]
    public async Task CoordinatorKilledMidRoundRestartsWithEveryAcknowledgedUpdate()
    {
        using var dir = new TempDirectory();
        string data = Path.Combine(dir.Path, "data");
        await using var volunteers = new VolunteerPool(dir.Path);

        string address;
        using (var first = ChildProcess.Start(ServeArgs(data)))
        {
            address = (await first.WaitForAsync(@"listening on (http://\S+);", Patience)).Groups[1].Value;
            Assert.Equal(2, await volunteers.RunAsync(address, count: 2, unitsEach: 1, Patience)); // two acknowledged updates
            first.KillHard(); // mid-round: quorum is 4
        }

        using var second = ChildProcess.Start(ServeArgs(data));
        address = (await second.WaitForAsync(@"listening on (http://\S+);", Patience)).Groups[1].Value;
        using var channel = GrpcChannel.ForAddress(address);
        var status = await new Protocol.V1.Coordinator.CoordinatorClient(channel).GetStatusAsync(new StatusRequest { ProtocolVersion = 1 });
        Assert.Equal(0UL, status.Round);
        Assert.Equal(2UL, status.AcceptedUpdates);

        Assert.Equal(2, await volunteers.RunAsync(address, count: 2, unitsEach: 1, Patience));
        await second.WaitForAsync(@"round 0 closed: 4 updates", Patience); // training resumed and the round completed
    }

    [Fact]
    public async Task VolunteerKilledMidUnitLosesItsLeaseAndTheUnitIsReissued()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        // Long units (H = 200) so that the volunteer is surely still training when it is killed.
        await using var c = await LoopbackCoordinator.StartAsync(d => EngineHarness.TinyOptions(d) with { Quorum = 2, InnerSteps = 200, MaxRounds = 1 }, time);
        string unitOfTheDoomed;
        using (var doomed = ChildProcess.Start("volunteer", "--coordinator", c.Address, "--key", Path.Combine(c.Scratch, "doomed.key"),
                   "--name", "doomed", "--memory", "2GiB", "--cache", Path.Combine(c.Scratch, "cache-doomed")))
        {
            unitOfTheDoomed = (await doomed.WaitForAsync(@"unit (r0-u0-\w+)", Patience)).Groups[1].Value;
            await doomed.WaitForAsync(@"step \d+/200", Patience);
            doomed.KillHard();
        }
        Assert.Equal(1, c.Engine.Status().LeasedUnits);

        time.Advance(c.Engine.Options.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.Null(c.Engine.Tick());
        Assert.Equal("expired", c.Engine.Store.GetWorkUnit(unitOfTheDoomed)!.State);

        var (client, _) = c.Volunteer(maxUnits: 2, name: "rescuer");
        await c.TrainToTheEndAsync([client], Patience);
        var accepted = c.Engine.Store.Updates(0);
        Assert.Equal(2, accepted.Count);
        Assert.DoesNotContain(accepted, u => u.WorkUnitId == unitOfTheDoomed);
        Assert.Equal(1, c.Engine.Round);
    }
}
