using Hivemind.Simulations.Cli;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Simulation;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

public sealed class ScenarioParsingTests
{
    private static ScenarioException Fails(string json) =>
        Assert.Throws<ScenarioException>(() => ScenarioLoader.Parse(json, "test.json"));

    [Fact]
    public void Minimal_scenario_gets_the_documented_defaults()
    {
        var s = ScenarioLoader.Parse("""{ "name": "m" }""", "test.json");

        Assert.Equal(ScenarioMode.Scale, s.Mode);
        Assert.Equal(1, s.Seed);
        Assert.Equal(100, s.Training.InnerSteps);
        Assert.Equal(TensorCodec.Int8, s.Codec.Upload);
        Assert.Equal(Distribution.Exponential(4), s.Volunteers.SessionHours);
        Assert.Equal(AggregationRule.Median, s.Round.Aggregator);
    }

    [Fact]
    public void Bare_number_is_a_constant_distribution_and_kebab_case_enums_parse()
    {
        var s = ScenarioLoader.Parse("""{ "name": "m", "volunteers": { "latencyMs": 20 }, "round": { "aggregator": "trimmed-mean" } }""", "t");

        Assert.Equal(Distribution.Constant(20), s.Volunteers.LatencyMs);
        Assert.Equal(AggregationRule.TrimmedMean, s.Round.Aggregator);
    }

    [Fact]
    public void Unknown_field_is_named_with_its_path()
    {
        var e = Fails("""{ "name": "m", "round": { "quorumm": 0.9 } }""");
        Assert.Contains("test.json", e.Message);
        Assert.Contains("quorumm", e.Message);
        Assert.Contains("round", e.Message);
    }

    [Fact]
    public void Bad_enum_value_lists_the_allowed_ones()
    {
        var e = Fails("""{ "name": "m", "round": { "aggregator": "average" } }""");
        Assert.Contains("round.aggregator", e.Message);
        Assert.Contains("\"average\"", e.Message);
        Assert.Contains("centered-clipping", e.Message);
    }

    [Fact]
    public void Wrong_type_names_field_and_line()
    {
        var e = Fails("{\n  \"name\": \"m\",\n  \"seed\": \"one\"\n}");
        Assert.Contains("field seed (line 3)", e.Message);
    }

    [Fact]
    public void Missing_name_is_reported()
    {
        var e = Fails("""{ "seed": 2 }""");
        Assert.Contains("name", e.Message);
    }

    [Fact]
    public void Out_of_range_values_name_field_value_and_fix()
    {
        var e = Fails("""{ "name": "m", "round": { "quorum": 1.5 }, "volunteers": { "sessionHours": { "kind": "exponential", "mean": -1 } } }""");
        Assert.Contains("2 problem(s)", e.Message);
        Assert.Contains("round.quorum = 1.5", e.Message);
        Assert.Contains("volunteers.sessionHours: exponential needs \"mean\" > 0, got -1", e.Message);
    }

    [Fact]
    public void Coordinator_memory_that_cannot_hold_the_model_and_one_update_names_the_field_and_the_fix()
    {
        var e = Fails("""{ "name": "m", "coordinator": { "memoryGiB": 0.001 } }""");
        Assert.Contains("coordinator.memoryGiB = 0.001: cannot hold the model", e.Message);
        Assert.Contains("leave it out (unbounded)", e.Message);
        Assert.Contains("coordinator.memoryGiB = -1: must be > 0", Fails("""{ "name": "m", "coordinator": { "memoryGiB": -1 } }""").Message);
        Assert.Null(ScenarioLoader.Parse("""{ "name": "m" }""", "t").Coordinator.MemoryGiB);
    }

    [Fact]
    public void Unknown_distribution_kind_is_explained()
    {
        var e = Fails("""{ "name": "m", "volunteers": { "downloadMbps": { "kind": "pareto", "mean": 3 } } }""");
        Assert.Contains("volunteers.downloadMbps", e.Message);
        Assert.Contains("\"pareto\" is unknown", e.Message);
    }

    [Fact]
    public void Unknown_device_and_too_small_memory_are_reported()
    {
        var e = Fails("""
            { "name": "m", "model": { "layers": 24, "dModel": 1536, "experts": 16, "expertHidden": 6144 },
              "volunteers": { "devices": [ { "device": "a10" }, { "device": "t4" } ] } }
            """);
        Assert.Contains("volunteers.devices[0].device = 'a10' is not in the device table", e.Message);
        Assert.Contains("volunteers.devices[1].device = 't4'", e.Message);
        Assert.Contains("lower training.expertsPerShard", e.Message);
    }

    [Fact]
    public void Too_few_volunteers_to_replicate_every_expert_is_reported()
    {
        var e = Fails("""{ "name": "m", "volunteers": { "count": 3 } }""");
        Assert.Contains("volunteers.count = 3", e.Message);
        Assert.Contains("at least 8 volunteers", e.Message);
    }

    [Fact]
    public void Shipped_scenarios_parse_and_faithful_ones_run_in_faithful_mode()
    {
        foreach (var shipped in ShippedScenarios.All.Where(s => s.Runnable))
        {
            var (scenario, _) = ScenarioSource.Resolve(shipped.Name);
            Assert.Equal(shipped.Name, scenario.Name);
            Assert.NotNull(scenario.Smoke);
        }

        Assert.All(ShippedScenarios.All, s => Assert.True(s.Runnable, $"{s.Name} has no embedded scenario"));
        Assert.Equal(ScenarioMode.Faithful, ScenarioSource.Resolve("attack-matrix").Scenario.Mode);
        Assert.Equal(ScenarioMode.Faithful, ScenarioSource.Resolve("moe-vs-dense").Scenario.Mode);
        var missing = Assert.Throws<ScenarioException>(() => ScenarioSource.Resolve("no-such-thing"));
        Assert.Contains("overhead", missing.Message);
    }
}
