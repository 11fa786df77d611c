namespace Hivemind.Data;

/// <summary>How an LMD file is stored; detected from its first bytes, not its name.</summary>
public enum LmdCompression
{
    /// <summary>Plain .jsonl.</summary>
    None = 0,

    /// <summary>.jsonl.zst, as The Pile ships.</summary>
    Zstd = 1,

    /// <summary>.jsonl.gz.</summary>
    Gzip = 2,
}
