using System.CommandLine;
using Hivemind.Aggregation;
using Hivemind.Coordinator.Hosting;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Demo;

/// <summary><c>demo</c>: its flags, checked before anything starts.</summary>
public static class DemoCommand
{
    /// <summary>More local volunteer processes than this would only thrash a workstation.</summary>
    public const int MaxVolunteers = 16;

    /// <summary>A demo longer than this many rounds is a typo (serve is the command for real runs).</summary>
    public const int MaxRounds = 10_000;

    /// <summary>Markov orders the synthetic corpus supports.</summary>
    private const int MinCorpusOrder = 1, MaxCorpusOrder = 4;

    /// <summary>More inner steps than this per unit would make a demo round take hours.</summary>
    public const int MaxInnerSteps = 10_000;

    /// <summary>An AdamW learning rate above this is a typo (the demo's are around 1e-2).</summary>
    public const double MaxInnerLearningRate = 1.0;

    public static Command Create(CliConsole console)
    {
        var d = DemoSettings.Default;
        var volunteers = Flags.Int("--volunteers", "Honest volunteer processes to start", d.Volunteers, min: 1, max: MaxVolunteers);
        var rounds = Flags.Int("--rounds", "Rounds to train", d.Rounds, min: 1, max: MaxRounds);
        var preset = Flags.Choice("--preset", $"Model preset ('{DemoSettings.TextPreset}' when --data is given and this flag is not)", d.Preset, ModelConfig.PresetNames.ToList());
        var dataDir = Flags.Text("--data-directory", $"Demo state; wiped at start, so it must be new, empty or a previous demo's (marked by {DemoFolder.MarkerName})", d.DataDirectory);
        var attackers = Behaviors.ByName.Keys.Where(k => k != "honest").ToList();
        var byzantine = Flags.Text("--byzantine", $"RED-TEAM: adds one attacking volunteer with this behaviour: {string.Join(", ", attackers)}", d.Byzantine);
        var rule = Flags.Text("--rule", "Aggregation spec for trunk and experts, e.g. median or \"nnm(f=1) | trimmed-mean(f=1)\"", d.Rule);
        var corpusOrder = Flags.Int("--corpus-order", "Markov order of the synthetic domains (1 learns in minutes; 2 needs many more rounds)", d.CorpusOrder, min: MinCorpusOrder, max: MaxCorpusOrder);
        var dashboardPort = Flags.Int("--dashboard-port", "Port of the live dashboard (0 = any free port; the URL is printed)", 0, min: 0, max: ServeSettings.MaxPort);
        var data = Flags.Text("--data", $"Train on real text: '{DataFolder.MiniPile}' ({DataFolder.MiniPileFolder}, built by scripts/build-mini-pile.sh) or a corpus folder; empty = the synthetic corpus", "");
        var compareCentral = new Option<bool>("--compare-central") { Description = "With --data: afterwards train the same model centrally on the accepted units' tokens and print both held-out tables" };
        var seed = Flags.Int("--seed", "Seed of the initial model and of the units' data", 1, min: 0);
        var innerSteps = new Option<int?>("--inner-steps") { Description = "Local AdamW steps per unit (H); default: the demo's for the corpus (printed at start)", CustomParser = r => ParseInt(r, "--inner-steps", 1, MaxInnerSteps) };
        var innerLr = new Option<double?>("--inner-learning-rate") { Description = "The units' AdamW learning rate; default: the demo's for the corpus", CustomParser = r => ParseDouble(r, "--inner-learning-rate", v => v is > 0 and <= MaxInnerLearningRate, $"a number above 0 and at most {MaxInnerLearningRate}, e.g. 1e-2") };
        var outerMomentum = new Option<double?>("--outer-momentum") { Description = "Momentum of the outer step (Nesterov); default: the demo's for the corpus (0 on real text)", CustomParser = r => ParseDouble(r, "--outer-momentum", v => v is >= 0 and < 1, "a number in [0, 1), e.g. 0.5") };
        var demo = new Command("demo", "Start a coordinator on its embedded store plus local volunteer processes, train, and summarise.")
        {
            volunteers, rounds, preset, dataDir, byzantine, rule, corpusOrder, dashboardPort, data, compareCentral, seed, innerSteps, innerLr, outerMomentum,
        };
        demo.SetAction(async (parse, ct) =>
        {
            string attack = parse.GetValue(byzantine)!;
            if (attack.Length > 0 && !attackers.Contains(attack))
                throw new UsageException($"--byzantine '{attack}' is not an attack; use one of {string.Join(", ", attackers)} (or leave it out for an honest run).");
            string spec = parse.GetValue(rule)!;
            int quorum = parse.GetValue(volunteers) + (attack.Length > 0 ? 1 : 0);
            try
            {
                ServeSettings.ParseRule("--rule", spec).Aggregator.EnsureWithinBreakdown(quorum);
            }
            catch (AggregationConfigException e)
            {
                throw new UsageException($"--rule '{spec}' cannot aggregate the {quorum} updates of a demo round: {e.Message.TrimEnd('.')}; add --volunteers or lower the rule's f.", e);
            }
            string? textFolder = DataFolder.Resolve(parse.GetValue(data)!);
            bool presetGiven = parse.GetResult(preset) is { Implicit: false };
            string chosenPreset = textFolder is not null && !presetGiven ? DemoSettings.TextPreset : parse.GetValue(preset)!;
            var settings = new DemoSettings(parse.GetValue(volunteers), parse.GetValue(rounds), chosenPreset, parse.GetValue(dataDir)!, attack, spec, parse.GetValue(corpusOrder))
            {
                DashboardPort = parse.GetValue(dashboardPort),
                Data = textFolder,
                CompareCentral = parse.GetValue(compareCentral),
                Seed = parse.GetValue(seed),
                InnerSteps = parse.GetValue(innerSteps),
                InnerLearningRate = parse.GetValue(innerLr),
                OuterMomentum = parse.GetValue(outerMomentum),
            };
            if (settings.CompareCentral && settings.Data is null)
                throw new UsageException("--compare-central compares on real text; add --data mini-pile (or a corpus folder).");
            return await DemoRunner.RunAsync(settings, console, ct);
        });
        return demo;
    }

    private static int? ParseInt(System.CommandLine.Parsing.ArgumentResult result, string name, int min, int max)
    {
        string text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
        if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
            return value;
        result.AddError($"{name} '{text}' is not a whole number from {min} to {max}.");
        return null;
    }

    private static double? ParseDouble(System.CommandLine.Parsing.ArgumentResult result, string name, Func<double, bool> allowed, string expected)
    {
        string text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double value) && double.IsFinite(value) && allowed(value))
            return value;
        result.AddError($"{name} '{text}' is not {expected}.");
        return null;
    }
}
