namespace Hivemind.Data;

/// <summary>One content-addressed slice of a <see cref="TokenCorpus"/>'s training tokens.</summary>
/// <param name="Index">Position among the corpus's slices.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the slice's bytes: its name on the wire, in caches and on mirrors.</param>
/// <param name="TokenStart">First token of the slice in the train token file.</param>
/// <param name="TokenCount">Tokens in the slice.</param>
/// <param name="TokenBytes">Bytes per stored id.</param>
public sealed record TokenSlice(int Index, string Sha256, long TokenStart, long TokenCount, int TokenBytes)
{
    /// <summary>Length of the slice in bytes.</summary>
    public long ByteLength => TokenCount * TokenBytes;

    /// <summary>Offset of the slice in the train .tokens file.</summary>
    public long ByteStart => TokenStart * TokenBytes;

    /// <summary>File name of the slice in a cache or on a mirror.</summary>
    public string FileName => FileNameFor(Sha256);

    /// <summary>File name of the slice with hash <paramref name="sha256"/>.</summary>
    public static string FileNameFor(string sha256) => sha256 + TokenFileFormat.TokensExtension;
}
