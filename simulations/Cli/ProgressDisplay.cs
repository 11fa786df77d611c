using Spectre.Console;

namespace Hivemind.Simulations.Cli;

/// <summary>A Spectre progress bar on a terminal; one plain line per step when output is redirected (CI logs).</summary>
public static class ProgressDisplay
{
    /// <summary>Runs <paramref name="work"/>, showing the progress it reports as (done, total, label).</summary>
    public static T Run<T>(string title, Func<Action<int, int, string>, T> work)
    {
        bool interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive)
        {
            return work((done, total, label) => Console.WriteLine($"[{done}/{total}] {label}"));
        }

        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(title));
                result = work((done, total, label) =>
                {
                    task.MaxValue = total;
                    task.Value = done;
                    task.Description = Markup.Escape($"{title}: {label}");
                });
                task.StopTask();
            });
        return result;
    }
}
