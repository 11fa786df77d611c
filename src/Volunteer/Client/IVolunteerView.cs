using Hivemind.Protocol.Errors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;

namespace Hivemind.Volunteer.Client;

/// <summary>What the volunteer shows its owner while it works.</summary>
public interface IVolunteerView
{
    void Joined(string volunteerId);

    void UnitStarted(UnitSpec unit);

    void Step(TrainingProgress progress);

    void Transfer(string what, long bytes, TimeSpan elapsed);

    void Submitted(string updateId, double meanLoss);

    void Rejected(RejectReason reason, string detail);

    void Waiting(string reason);

    void Info(string message);

    void Error(string message);
}
