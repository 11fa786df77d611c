namespace Hivemind.Protocol.Ledger;

/// <summary>Type tag of one field of a ledger entry (part of the entry bytes).</summary>
public enum LedgerValueType : byte
{
    /// <summary>Signed 64-bit integer, big-endian.</summary>
    Integer = 1,

    /// <summary>IEEE 754 binary64, big-endian.</summary>
    Float = 2,

    /// <summary>UTF-8 text: u32 big-endian length, then the bytes.</summary>
    Text = 3,

    /// <summary>Raw bytes: u32 big-endian length, then the bytes.</summary>
    Bytes = 4,
}
