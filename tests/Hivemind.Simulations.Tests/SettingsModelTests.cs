using Hivemind.Coordinator;
using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

/// <summary>One settings model: a faithful run's engine options are the coordinator's own type and defaults.</summary>
public sealed class SettingsModelTests
{
    private const string Minimal = """{ "name": "m", "mode": "faithful", "volunteers": { "count": 4, "devices": [{ "device": "cpu" }] }, "round": { "rounds": 4 } }""";

    [Fact]
    public void Without_an_engine_section_a_faithful_run_uses_the_coordinators_defaults()
    {
        var scenario = ScenarioLoader.Parse(Minimal, "test.json");
        var config = FaithfulRunner.BaseConfig(scenario, new Timing.DeviceTable());
        var defaults = new CoordinatorOptions();

        // Only the fields the scenario's shared sections own differ from the engine's defaults.
        var owned = defaults with
        {
            Seed = scenario.Seed, MaxRounds = 4, Quorum = config.Quorum, InnerSteps = scenario.Training.InnerSteps, Codec = config.Engine.Codec,
            RoundTimeout = TimeSpan.FromMinutes(scenario.Round.DeadlineMinutes),
        };
        Assert.Equal(owned, config.Engine);
        Assert.Equal(defaults.TrunkRule, config.Engine.TrunkRule);
        Assert.Equal(defaults.MinExpertHolders, config.Engine.MinExpertHolders);
        Assert.Equal(defaults.NormBoundFactor, config.Engine.NormBoundFactor);
    }

    [Fact]
    public void Virtual_time_changes_only_what_a_virtual_clock_cannot_honour()
    {
        var engine = new CoordinatorOptions { TrunkRule = "nnm(f=1) | median", Replication = 4, NormBoundFactor = 6, ProbationSlots = 2 };

        var used = FaithfulConfig.VirtualTime(engine, "/tmp/x");

        Assert.Equal(engine, used with
        {
            DataDirectory = engine.DataDirectory, JoinsPerMinute = engine.JoinsPerMinute, HeartbeatInterval = engine.HeartbeatInterval,
            MaxLeaseDuration = engine.MaxLeaseDuration, DeterministicPlanning = engine.DeterministicPlanning, TorchThreads = engine.TorchThreads,
            // Wall time only: a simulation's close has no RPCs to keep a core for, and the result does not depend on it.
            CloseParallelism = engine.CloseParallelism,
        });
        Assert.Equal(Environment.ProcessorCount, used.CloseParallelism);
        Assert.Equal("nnm(f=1) | median", used.TrunkRule);
        // Virtual volunteers lease through the participant draw as real ones do against `serve`, not first-come.
        Assert.Equal(engine.ParticipantDrawWindow, used.ParticipantDrawWindow);
        Assert.True(used.ParticipantDrawWindow > TimeSpan.Zero);
        Assert.Equal(6, used.NormBoundFactor);
    }

    [Fact]
    public void Engine_settings_come_from_the_scenarios_engine_section()
    {
        string json = Minimal.Replace("\"round\"", "\"faithful\": { \"engine\": { \"trunkRule\": \"mean\", \"minExpertHolders\": 1, \"leaseDuration\": \"00:10:00\" } }, \"round\"", StringComparison.Ordinal);

        var config = FaithfulRunner.BaseConfig(ScenarioLoader.Parse(json, "test.json"), new Timing.DeviceTable());

        Assert.Equal("mean", config.Engine.TrunkRule);
        Assert.Equal(1, config.Engine.MinExpertHolders);
        Assert.Equal(TimeSpan.FromMinutes(10), config.Engine.LeaseDuration);
    }

    [Theory]
    [InlineData("\"innerSteps\": 7", "set training.innerSteps instead")]
    [InlineData("\"quorum\": 2", "set round.quorum")]
    [InlineData("\"maxRounds\": 9", "set round.rounds instead")]
    [InlineData("\"codec\": \"int8\"", "set codec.upload instead")]
    [InlineData("\"minExpertHolders\": 0", "min-expert-holders 0 must be at least 1")]
    [InlineData("\"noSuchOption\": 1", "noSuchOption")]
    public void A_bad_or_doubly_owned_engine_setting_names_the_field_and_the_fix(string field, string expected)
    {
        string json = Minimal.Replace("\"round\"", "\"faithful\": { \"engine\": { " + field + " } }, \"round\"", StringComparison.Ordinal);

        var e = Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(json, "test.json"));

        Assert.Contains(expected, e.Message);
    }
}
