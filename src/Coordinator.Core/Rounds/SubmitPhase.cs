namespace Hivemind.Coordinator.Rounds;

/// <summary>The steps of one streamed submission whose end <see cref="SubmitTimings"/> records, in the order the reply waits for them.</summary>
public enum SubmitPhase
{
    /// <summary>The envelope passed every check; the payload may be read.</summary>
    Opened,

    /// <summary>The last payload byte is in the receive buffer.</summary>
    LastByte,

    /// <summary>The stream ended with the exact length and the envelope's SHA-256.</summary>
    StreamChecked,

    /// <summary>The worker finished the wire check (names, shapes, finiteness, norms).</summary>
    Checked,

    /// <summary>The worker's last write to the staging file returned.</summary>
    Written,

    /// <summary>The staging file is flushed to disk.</summary>
    Staged,

    /// <summary>The payload was renamed into <c>updates/</c> and its directory flushed.</summary>
    Stored,

    /// <summary>The ledger row is committed; the reply can be sent.</summary>
    Recorded,
}
