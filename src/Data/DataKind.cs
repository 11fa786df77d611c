namespace Hivemind.Data;

/// <summary>Where a work unit's tokens come from.</summary>
public enum DataKind
{
    /// <summary>The built-in synthetic corpus, named by its config, a domain mix and a slice seed.</summary>
    Synthetic = 0,

    /// <summary>A byte range of an LMD file's decompressed stream, named by the file's SHA-256.</summary>
    File = 1,

    /// <summary>A content-addressed slice of a pre-tokenized corpus (raw little-endian token ids), named by the slice's SHA-256.</summary>
    TokenSlice = 2,
}
