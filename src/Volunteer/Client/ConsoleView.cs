using Hivemind.Protocol.Errors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;
using Spectre.Console;

namespace Hivemind.Volunteer.Client;

/// <summary>
/// Progress as short timestamped lines (round, step, loss, transfer rate), coloured on a terminal and plain when
/// redirected (the demo prefixes each volunteer's lines with its name).
/// </summary>
public sealed class ConsoleView : IVolunteerView
{
    /// <summary>Training progress is printed about this many times per unit.</summary>
    public const int StepLinesPerUnit = 4;

    private readonly IAnsiConsole _console;
    private readonly string _name;
    private UnitSpec? _unit;
    private string _lastWait = "";

    public ConsoleView(string name, IAnsiConsole? console = null)
    {
        _name = name;
        _console = console ?? AnsiConsole.Console;
    }

    public void Joined(string volunteerId) => Line($"joined as [bold]{volunteerId[..12]}[/]…");

    public void UnitStarted(UnitSpec unit)
    {
        _unit = unit;
        _lastWait = "";
        Line($"round [bold]{unit.Round}[/] unit {Markup.Escape(unit.Id)}: {unit.Shard.Experts.Count} experts, H={unit.Training.InnerSteps}");
    }

    public void Step(TrainingProgress p)
    {
        int every = Math.Max(1, p.Steps / StepLinesPerUnit);
        if (p.Step % every == 0 || p.Step == p.Steps)
            Line($"round {_unit?.Round} step {p.Step}/{p.Steps} loss [bold]{p.Loss:0.000}[/]");
    }

    public void Transfer(string what, long bytes, TimeSpan elapsed)
    {
        double mbps = elapsed > TimeSpan.Zero ? bytes / 1e6 / elapsed.TotalSeconds : 0;
        Line(bytes == 0 ? $"{what}" : $"{what} {bytes / 1e6:0.00} MB in {elapsed.TotalMilliseconds:0} ms ({mbps:0.0} MB/s)");
    }

    public void Submitted(string updateId, double meanLoss) => Line($"[green]update {updateId} accepted[/] (mean loss {meanLoss:0.000})");

    public void Rejected(RejectReason reason, string detail) => Line($"[yellow]update rejected: {Markup.Escape(detail)}[/]");

    public void Waiting(string reason)
    {
        if (reason == _lastWait) return;
        _lastWait = reason;
        Line($"[grey]waiting: {Markup.Escape(reason)}[/]");
    }

    public void Info(string message) => Line($"[grey]{Markup.Escape(message)}[/]");

    public void Error(string message) => Line($"[red]{Markup.Escape(message)}[/]");

    private void Line(string markup) => _console.MarkupLine($"[grey]{DateTime.Now:HH:mm:ss}[/] [blue]{Markup.Escape(_name)}[/] {markup}");
}
