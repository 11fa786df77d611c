using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Tests;

/// <summary>CoordinatorOptions.Durable = false (the attack matrices' setting) changes where the store lives, never what a run decides.</summary>
public sealed class InMemoryStoreTests
{
    [Fact]
    public void A_run_without_durability_gives_the_same_losses_rejections_and_bans_as_the_durable_store()
    {
        var config = FaithfulFixture.Tiny(volunteers: 5, rounds: 3).WithEngine(e => e with
        {
            Preset = "micro",
            InnerSteps = 2,
            BatchSize = 2,
            SequenceLength = 16,
            EvalBatches = 1,
        }) with { Attack = "sign-flip", ByzantineFraction = 0.2, DomainAlpha = 0.1 };

        var durable = FaithfulSimulation.Run(config.WithEngine(e => e with { Durable = true }));
        var memory = FaithfulSimulation.Run(config.WithEngine(e => e with { Durable = false }));

        Assert.Equal(3, durable.Rounds.Count);
        Assert.Equal(durable.InitialLoss, memory.InitialLoss);
        Assert.Equal(durable.Rounds.Select(r => (r.Round, r.Updates, r.TrainLoss, r.EvalLoss, r.RoundSeconds)),
            memory.Rounds.Select(r => (r.Round, r.Updates, r.TrainLoss, r.EvalLoss, r.RoundSeconds)));
        Assert.Equal(durable.Rejections, memory.Rejections);
        Assert.Equal((durable.UnitsLeased, durable.BannedVolunteers, durable.BytesUp, durable.LateAccepted),
            (memory.UnitsLeased, memory.BannedVolunteers, memory.BytesUp, memory.LateAccepted));
    }

    [Fact]
    public void The_in_memory_store_leaves_no_database_file()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hm-memstore-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var store = new Hivemind.Coordinator.Storage.CoordinatorStore(Path.Combine(dir, "coordinator.db"), durable: false))
            {
                Assert.NotEmpty(store.RunId(() => new byte[16]));
            }

            Assert.False(File.Exists(Path.Combine(dir, "coordinator.db")), "durable: false must keep the store in memory");
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
