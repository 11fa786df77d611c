using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Cli;

/// <summary>Turns the `run` argument (a file path or a shipped name) into a scenario and its text.</summary>
public static class ScenarioSource
{
    /// <summary>Loads a file if one exists at <paramref name="argument"/>, else a shipped scenario of that name.</summary>
    public static (Scenario Scenario, string Text) Resolve(string argument)
    {
        if (File.Exists(argument))
        {
            string text = File.ReadAllText(argument);
            return (ScenarioLoader.Parse(text, argument), text);
        }

        if (ShippedScenarios.Find(argument) is { } shipped)
        {
            string text = ShippedScenarios.Text(shipped);
            return (ScenarioLoader.Parse(text, shipped.Name), text);
        }

        string names = string.Join(", ", ShippedScenarios.All.Select(s => s.Name));
        throw new ScenarioException($"'{argument}' is neither a scenario file nor a shipped scenario (shipped: {names}); check the path or run `list`");
    }
}
