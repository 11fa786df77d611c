namespace Hivemind.Simulations.Scale;

/// <summary>What happens at an instant of a scale run.</summary>
public enum EventKind
{
    /// <summary>The coordinator opens a round and hands out work units.</summary>
    RoundOpen,

    /// <summary>A volunteer's upload arrives.</summary>
    UnitArrived,

    /// <summary>The round's deadline.</summary>
    Deadline,

    /// <summary>A volunteer leaves.</summary>
    SessionEnd,

    /// <summary>A new volunteer takes a slot.</summary>
    SessionStart,
}
