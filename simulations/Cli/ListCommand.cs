using System.CommandLine;
using Hivemind.Simulations.Scenarios;
using Spectre.Console;

namespace Hivemind.Simulations.Cli;

/// <summary>`list`: the shipped scenarios, one line each.</summary>
public static class ListCommand
{
    /// <summary>The command.</summary>
    public static Command Create()
    {
        var command = new Command("list", "List the shipped scenarios");
        command.SetAction(_ =>
        {
            var table = new Table().AddColumns("name", "doubt", "runs today", "what it shows");
            foreach (var s in ShippedScenarios.All)
            {
                table.AddRow(Markup.Escape(s.Name), Markup.Escape(s.Doubt), s.Runnable ? "yes" : "no", Markup.Escape(s.Summary));
            }

            AnsiConsole.Write(table);
            return 0;
        });
        return command;
    }
}
