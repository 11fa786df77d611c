using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// What the engine decided about one submitted update, raised as <see cref="CoordinatorEngine.UpdateDecided"/> for
/// metrics and the dashboard. <see cref="VolunteerId"/> is the authenticated session's volunteer, or null when the
/// transport rejected the stream before the engine saw it.
/// </summary>
public sealed record UpdateDecision(string? VolunteerId, RejectReason? Reason, long PayloadBytes)
{
    public bool Accepted => Reason is null;

    public static UpdateDecision Accept(string volunteerId, long payloadBytes) => new(volunteerId, null, payloadBytes);

    public static UpdateDecision Reject(string? volunteerId, RejectReason reason) => new(volunteerId, reason, 0);
}
