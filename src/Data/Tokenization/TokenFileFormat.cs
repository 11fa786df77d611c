namespace Hivemind.Data;

/// <summary>
/// Layout of a pre-tokenized corpus. NAME.tokens: the token ids of every document followed by end-of-text,
/// little-endian, 2 or 4 bytes each, nothing else (memory-mapped as is). NAME.idx: magic, one 24-byte record
/// per document (int64 first token, int32 token count, int32 component, int64 text bytes), the header as
/// UTF-8 JSON, its length as int64, and an end magic.
/// </summary>
public static class TokenFileFormat
{
    /// <summary>Extension of the token ids file.</summary>
    public const string TokensExtension = ".tokens";

    /// <summary>Extension of the index file.</summary>
    public const string IndexExtension = ".idx";

    /// <summary>Bytes per index record.</summary>
    public const int RecordBytes = 24;

    /// <summary>First 8 bytes of an index.</summary>
    public static ReadOnlySpan<byte> StartMagic => "HMTOKv1\n"u8;

    /// <summary>Last 8 bytes of an index: a file cut short lacks them.</summary>
    public static ReadOnlySpan<byte> EndMagic => "HMTOKEND"u8;

    /// <summary>Path of the .tokens file for a path prefix.</summary>
    public static string TokensPath(string prefix) => prefix + TokensExtension;

    /// <summary>Path of the .idx file for a path prefix.</summary>
    public static string IndexPath(string prefix) => prefix + IndexExtension;

    /// <summary>The prefix of a path that ends in .tokens or .idx, or the path itself.</summary>
    public static string Prefix(string path) =>
        path.EndsWith(TokensExtension, StringComparison.Ordinal) ? path[..^TokensExtension.Length]
        : path.EndsWith(IndexExtension, StringComparison.Ordinal) ? path[..^IndexExtension.Length]
        : path;
}
