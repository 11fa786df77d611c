using Hivemind.Protocol.Errors;
using Hivemind.Training;
using Hivemind.Volunteer.Client;
using Hivemind.Volunteer.Work;

namespace Hivemind.Simulations.Calibration;

/// <summary>A volunteer view that keeps only errors and rejections, so a failed loopback run can say why.</summary>
public sealed class SilentView : IVolunteerView
{
    private readonly List<string> _problems = [];

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
