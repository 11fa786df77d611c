namespace Hivemind.Coordinator.Rounds;

/// <summary>What the relay registry (issue 17) asks of the engine: whether a relay's session still lives.</summary>
public sealed partial class CoordinatorEngine
{
    /// <summary>True while <paramref name="sessionToken"/> is a live session that is not banned; unlike <see cref="Authenticate"/> it does not count as a call.</summary>
    public bool IsSessionLive(string sessionToken)
    {
        var id = _sessions.Peek(sessionToken, HoldsLiveLease);
        return id is not null && _store.GetVolunteer(id) is { Banned: false };
    }
}
