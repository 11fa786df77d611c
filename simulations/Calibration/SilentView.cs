using System.Diagnostics;
using Hivemind.Protocol.Errors;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;

namespace Hivemind.Simulations.Calibration;

/// <summary>A volunteer view that keeps only errors, rejections and each unit's phase times, so a loopback run can say why it failed or was slow.</summary>
public sealed class SilentView : IVolunteerView
{
    private const string UploadLabel = "upload";
    private const string DownloadLabel = "download";

    private readonly List<string> _problems = [];
    private readonly List<UnitTiming> _units = [];
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _downloadSeconds;
    private double _downloadEnd;

    /// <summary>Phase times of every unit this client uploaded, in order.</summary>
    public IReadOnlyList<UnitTiming> Units
    {
        get
        {
            lock (_units)
            {
                return [.. _units];
            }
        }
    }

    /// <summary>Errors and rejections the client reported.</summary>
    public IReadOnlyList<string> Problems
    {
        get
        {
            lock (_problems)
            {
                return [.. _problems];
            }
        }
    }

    /// <inheritdoc />
    public void Joined(string volunteerId)
    {
    }

    /// <inheritdoc />
    public void UnitStarted(UnitSpec unit)
    {
    }

    /// <inheritdoc />
    public void Step(TrainingProgress progress)
    {
    }

    /// <inheritdoc />
    public void Transfer(string what, long bytes, TimeSpan elapsed)
    {
        // The client reports each transfer when it ends, with its duration: the work between is the gap from one to the next.
        double now = _clock.Elapsed.TotalSeconds;
        if (what.StartsWith(DownloadLabel, StringComparison.Ordinal))
        {
            _downloadSeconds = elapsed.TotalSeconds;
            _downloadEnd = now;
        }
        else if (what == UploadLabel)
        {
            lock (_units)
            {
                _units.Add(new UnitTiming(_downloadSeconds, now - elapsed.TotalSeconds - _downloadEnd, elapsed.TotalSeconds));
            }
        }
    }

    /// <inheritdoc />
    public void Submitted(string updateId, double meanLoss)
    {
    }

    /// <inheritdoc />
    public void Rejected(RejectReason reason, string detail) => Add($"rejected ({reason}): {detail}");

    /// <inheritdoc />
    public void Waiting(string reason)
    {
    }

    /// <inheritdoc />
    public void Info(string message)
    {
    }

    /// <inheritdoc />
    public void Error(string message) => Add(message);

    private void Add(string problem)
    {
        lock (_problems)
        {
            _problems.Add(problem);
        }
    }
}
