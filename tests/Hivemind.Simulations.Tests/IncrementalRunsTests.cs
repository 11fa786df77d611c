using Hivemind.Simulations.Faithful;
using Hivemind.Simulations.Reports;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Tests;

/// <summary>`run` appends each finished engine run to runs.csv and rounds.csv, so a matrix that is stopped keeps what it finished.</summary>
public sealed class IncrementalRunsTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "hm-incremental-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void Each_run_is_in_runs_csv_before_the_next_starts_and_the_final_report_has_the_same_rows()
    {
        string text = ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!);
        var scenario = ScenarioLoader.Parse(text, "attack-matrix");
        var csv = new IncrementalRunsCsv(_root);
        var seenBefore = new List<int>();
        int calls = 0;
        var outcome = FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: config =>
        {
            // What a stop at this moment would leave: every run finished so far, one row each.
            seenBefore.Add(DataRows(Path.Combine(_root, "runs.csv")).Count);
            return Canned(config, ++calls);
        }, finished: csv.Append);

        // Smoke size: median × (none, sign-flip, label-flip) × 2 seeds.
        Assert.Equal(6, outcome.Runs.Count);
        Assert.Equal([0, 1, 2, 3, 4, 5], seenBefore);
        var incremental = DataRows(Path.Combine(_root, "runs.csv"));
        var roundsIncremental = DataRows(Path.Combine(_root, "rounds.csv"));
        Assert.Equal(2 * 6, roundsIncremental.Count);

        string final = Path.Combine(_root, "final");
        FaithfulReportWriter.Write(outcome, text, final);
        Assert.Equal(File.ReadLines(Path.Combine(final, "runs.csv")).First(), File.ReadLines(Path.Combine(_root, "runs.csv")).First());
        Assert.Equal(DataRows(Path.Combine(final, "runs.csv")).Order(), incremental.Order());
        Assert.Equal(DataRows(Path.Combine(final, "rounds.csv")).Order(), roundsIncremental.Order());
    }

    [Fact]
    public void A_folder_from_an_earlier_matrix_is_started_afresh()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "runs.csv"), "stale-marker,header\nstale-marker,row\n");
        string text = ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!);
        var scenario = ScenarioLoader.Parse(text, "attack-matrix");
        scenario = scenario with { Smoke = scenario.Smoke! with { Attacks = [], Seeds = 1 } };
        var csv = new IncrementalRunsCsv(_root);
        int calls = 0;
        FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: config => Canned(config, ++calls), finished: csv.Append);

        Assert.DoesNotContain("stale-marker", File.ReadAllText(Path.Combine(_root, "runs.csv")));
        Assert.Single(DataRows(Path.Combine(_root, "runs.csv")));
    }

    [Fact]
    public void Attack_major_order_runs_every_reference_first_then_each_attack_across_all_rules()
    {
        // The shipped matrix sets attackMajor, so a run cut short holds every rule under the attacks listed first.
        string text = ShippedScenarios.Text(ShippedScenarios.Find("attack-matrix")!);
        var scenario = ScenarioLoader.Parse(text, "attack-matrix");
        Assert.True(scenario.Faithful!.AttackMajor);
        scenario = scenario with { Smoke = scenario.Smoke! with { Aggregators = ["median", "mean"], Seeds = 1 } };
        var order = new List<string>();
        int calls = 0;
        var outcome = FaithfulRunner.Run(scenario, smoke: true, progress: null, simulate: config =>
        {
            lock (order) order.Add($"{config.Engine.TrunkRule}/{config.Attack ?? "none"}");
            return Canned(config, ++calls);
        });
        Assert.Equal(["median/none", "mean/none", "median/sign-flip", "mean/sign-flip", "median/label-flip", "mean/label-flip"], order);

        // Aggregator-major (the default) keeps each rule's cells together.
        order.Clear();
        FaithfulRunner.Run(scenario with { Faithful = scenario.Faithful with { AttackMajor = false } }, smoke: true, progress: null,
            simulate: config => { order.Add($"{config.Engine.TrunkRule}/{config.Attack ?? "none"}"); return Canned(config, ++calls); });
        Assert.Equal(["median/none", "median/sign-flip", "median/label-flip", "mean/none", "mean/sign-flip", "mean/label-flip"], order);
        Assert.Equal(6, outcome.Runs.Count);

        // skipReferences: the median's reference is held by an earlier run, so only the mean's runs here.
        order.Clear();
        FaithfulRunner.Run(scenario with { Faithful = scenario.Faithful with { SkipReferences = ["median"] } }, smoke: true, progress: null,
            simulate: config => { order.Add($"{config.Engine.TrunkRule}/{config.Attack ?? "none"}"); return Canned(config, ++calls); });
        Assert.Equal(["mean/none", "median/sign-flip", "mean/sign-flip", "median/label-flip", "mean/label-flip"], order);
    }

    private static List<string> DataRows(string path) => File.Exists(path) ? [.. File.ReadLines(path).Skip(1)] : [];

    // A result with two rounds whose losses name the call, so every row differs.
    private static FaithfulResult Canned(FaithfulConfig config, int call) => new(config, 5, 1, [
            new FaithfulRound(0, config.Volunteers, 4, 4 - call * 0.01, 10, 1, 1, 0, 0.1, 0.001),
            new FaithfulRound(1, config.Volunteers, 3, 3 - call * 0.01, 10, 1, 1, 0, 0.1, 0.001),
        ], 100, 100, config.Volunteers * 2, 0, new Dictionary<string, int>(), 0, 3, 1);
}
