using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Terminal;
using Spectre.Console;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>The volunteer's terminal view: live bars need an interactive ANSI terminal; anything else gets plain lines.</summary>
public sealed class VolunteerTerminalTests
{
    [Fact]
    public void RedirectedOutputGetsPlainLinesNotBars()
    {
        using var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        var view = LiveProgressView.Create("v1", console);
        Assert.IsType<ConsoleView>(view);
        view.Submitted("7", 1.234);
        string text = writer.ToString();
        Assert.Contains("v1 update 7 accepted (mean loss 1.234)", text);
        Assert.DoesNotContain("\u001b[", text); // no escape sequences in a log file
    }
}
