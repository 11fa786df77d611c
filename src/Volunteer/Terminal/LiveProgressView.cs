using System.Diagnostics;
using Hivemind.Protocol.Errors;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;
using Spectre.Console;

namespace Hivemind.Volunteer.Terminal;

/// <summary>
/// Live progress bars on an interactive terminal: per unit a download bar, a training bar (step, loss, tokens per
/// second) and an upload bar, with the usual lines (joined, accepted, rejected, waits) printed above them. Where the
/// output is redirected <see cref="Create"/> returns the plain line view instead.
/// </summary>
public sealed class LiveProgressView : IVolunteerView, IAsyncDisposable
{
    /// <summary>How long a callback waits for the live display to come up before it gives up on the bar (never on the line).</summary>
    private static readonly TimeSpan DisplayStartTimeout = TimeSpan.FromSeconds(5);

    private readonly IAnsiConsole _console;
    private readonly ConsoleView _lines;
    private readonly TaskCompletionSource<ProgressContext> _context = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stop = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _display;
    private readonly object _gate = new();
    private readonly Stopwatch _training = new();
    private UnitSpec? _unit;
    private ProgressTask? _download;
    private ProgressTask? _train;
    private ProgressTask? _upload;

    private LiveProgressView(string name, IAnsiConsole console)
    {
        _console = console;
        _lines = new ConsoleView(name, console);
        _display = console.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                _context.TrySetResult(ctx);
                await _stop.Task;
            });
    }

    /// <summary>Live bars when <paramref name="console"/> is an interactive ANSI terminal, plain lines otherwise (e.g. redirected output).</summary>
    public static IVolunteerView Create(string name, IAnsiConsole? console = null)
    {
        console ??= AnsiConsole.Console;
        bool live = console.Profile.Capabilities.Interactive && console.Profile.Capabilities.Ansi && !Console.IsOutputRedirected;
        return live ? new LiveProgressView(name, console) : new ConsoleView(name, console);
    }

    public void Joined(string volunteerId) => _lines.Joined(volunteerId);

    public void UnitStarted(UnitSpec unit)
    {
        _lines.UnitStarted(unit);
        lock (_gate)
        {
            FinishAll();
            _unit = unit;
            _download = AddTask($"round {unit.Round} download", indeterminate: true);
        }
    }

    public void Step(TrainingProgress p)
    {
        lock (_gate)
        {
            if (_unit is not { } unit) return;
            if (_train is null)
            {
                _train = AddTask($"round {unit.Round} train", indeterminate: false, max: p.Steps);
                _training.Restart();
            }
            if (_train is null) return;
            double tokens = (double)p.Step * unit.Training.BatchSize * unit.Training.SeqLen;
            double rate = _training.Elapsed.TotalSeconds > 0 ? tokens / _training.Elapsed.TotalSeconds : 0;
            _train.Value = p.Step;
            _train.Description = $"round {unit.Round} train  step {p.Step}/{p.Steps}  loss [bold]{p.Loss:0.000}[/]  {rate:N0} tok/s";
            if (p.Step >= p.Steps)
            {
                _train.StopTask();
                _upload = AddTask($"round {unit.Round} upload", indeterminate: true);
            }
        }
    }

    public void Transfer(string what, long bytes, TimeSpan elapsed)
    {
        _lines.Transfer(what, bytes, elapsed);
        lock (_gate)
        {
            var task = what.StartsWith("upload", StringComparison.Ordinal) ? _upload : _download;
            Finish(task);
        }
    }

    public void Submitted(string updateId, double meanLoss)
    {
        lock (_gate) FinishAll();
        _lines.Submitted(updateId, meanLoss);
    }

    public void Rejected(RejectReason reason, string detail)
    {
        lock (_gate) FinishAll();
        _lines.Rejected(reason, detail);
    }

    public void Waiting(string reason) => _lines.Waiting(reason);

    public void Info(string message) => _lines.Info(message);

    public void Error(string message) => _lines.Error(message);

    private ProgressTask? AddTask(string description, bool indeterminate, double max = 1)
    {
        if (!_context.Task.Wait(DisplayStartTimeout)) return null;
        var task = _context.Task.Result.AddTask(description, autoStart: true, maxValue: max);
        task.IsIndeterminate = indeterminate;
        return task;
    }

    private static void Finish(ProgressTask? task)
    {
        if (task is null || task.IsFinished) return;
        task.IsIndeterminate = false;
        task.Value = task.MaxValue;
        task.StopTask();
    }

    private void FinishAll()
    {
        Finish(_download);
        Finish(_train);
        Finish(_upload);
        (_download, _train, _upload) = (null, null, null);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate) FinishAll();
        _stop.TrySetResult();
        await _display;
    }
}
