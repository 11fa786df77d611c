namespace Hivemind.Simulations.Faithful;

/// <summary>What happens at a point of virtual time in a faithful run.</summary>
public enum FaithfulEventKind
{
    /// <summary>A new volunteer takes a slot and joins.</summary>
    Join,

    /// <summary>The slot's volunteer disappears (its unit is lost).</summary>
    Leave,

    /// <summary>A unit's upload completes.</summary>
    Arrive,

    /// <summary>A lease or round deadline passes: tick the engine and offer work to idle volunteers.</summary>
    Deadline,

    /// <summary>A unit may have come free (the next round opened, a departed draw winner's claim lapsed): offer work to idle volunteers.</summary>
    Open,

    /// <summary>An eager unit that finished before its round opened is uploaded again after the open (issue 16).</summary>
    Resend,

    /// <summary>The engine told one volunteer to ask again (the participant draw's window closes): it asks again.</summary>
    Retry,
}

/// <summary>An event: its kind, the slot and occupant it concerns, and the unit for arrivals.</summary>
public sealed record FaithfulEvent(FaithfulEventKind Kind, int Slot = -1, int Generation = -1, UnitInFlight? Unit = null);
