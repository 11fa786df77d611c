using Hivemind.Simulations.Faithful;

namespace Hivemind.Simulations.Tests;

/// <summary>Heterogeneous data: Dirichlet(α) domain mixes per volunteer, and the runs really train on them.</summary>
public sealed class HeterogeneityTests
{
    [Fact]
    public void Small_alpha_gives_each_volunteer_mostly_one_domain_and_large_alpha_nearly_the_uniform_mix()
    {
        const int Volunteers = 40;
        var sparse = Enumerable.Range(0, Volunteers).Select(i => VolunteerData.Mix(0.1, 1, i, 1)).ToList();
        var dense = Enumerable.Range(0, Volunteers).Select(i => VolunteerData.Mix(100, 1, i, 1)).ToList();

        Assert.All(sparse.Concat(dense), m => Assert.Equal(1.0, m.Sum(), 9));
        Assert.All(sparse.Concat(dense), m => Assert.Equal(VolunteerData.Domains, m.Length));
        // Dirichlet(0.1) over 4 domains puts more than 90% on one domain for most draws; Dirichlet(100) stays within 0.1 of uniform.
        Assert.True(sparse.Count(m => m.Max() > 0.9) > Volunteers / 2, $"only {sparse.Count(m => m.Max() > 0.9)} of {Volunteers} mixes are concentrated");
        double uniform = 1.0 / VolunteerData.Domains;
        Assert.All(dense, m => Assert.All(m, w => Assert.InRange(w, uniform - 0.1, uniform + 0.1)));
        Assert.Equal(VolunteerData.Mix(0.1, 1, 3, 1), VolunteerData.Mix(0.1, 1, 3, 1));
    }

    [Fact]
    public void A_non_positive_alpha_is_refused_with_the_fix()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => VolunteerData.Mix(0, 1, 0, 1));
        Assert.Contains("positive", e.Message);
    }

    [Fact]
    public void Heterogeneous_volunteers_train_on_their_own_mixes()
    {
        var iid = FaithfulSimulation.Run(FaithfulFixture.Tiny(volunteers: 3, rounds: 1));
        var skewed = FaithfulSimulation.Run(FaithfulFixture.Tiny(volunteers: 3, rounds: 1) with { DomainAlpha = 0.1 });

        // Same seed, keys aside: only the data differs, so the honest training loss of the round must differ.
        Assert.NotEqual(iid.Rounds[0].TrainLoss, skewed.Rounds[0].TrainLoss);
    }

    [Fact]
    public void Label_flipping_volunteers_train_on_flipped_targets_and_raise_the_loss_under_the_mean()
    {
        var clean = FaithfulFixture.Tiny(volunteers: 4, rounds: 3).WithEngine(e => e with { TrunkRule = "mean", ExpertRule = "mean" });

        var a = FaithfulSimulation.Run(clean);
        var b = FaithfulSimulation.Run(clean with { Attack = FaithfulConfig.LabelFlipAttack, ByzantineFraction = 0.25 });

        Assert.True(b.FinalLoss > a.FinalLoss, $"final loss {b.FinalLoss:F3} with one label flipper vs {a.FinalLoss:F3} without");
        Assert.Equal(1, b.ByzantineKeys);
    }
}
