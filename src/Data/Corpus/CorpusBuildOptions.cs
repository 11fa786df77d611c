namespace Hivemind.Data;

/// <summary>How source files are cut into documents.</summary>
/// <param name="Separator">When set, a file is split into documents at every occurrence (e.g. "\n%\n" for fortune files).</param>
/// <param name="MaxDocumentChars">Longer documents are cut, at the last blank line (else line end) before the limit.</param>
public sealed record CorpusBuildOptions(string? Separator = null, int MaxDocumentChars = CorpusBuildOptions.DefaultMaxDocumentChars)
{
    /// <summary>64 Ki characters: a dictionary file becomes many documents, as in The Pile, not one huge one.</summary>
    public const int DefaultMaxDocumentChars = 1 << 16;

    /// <summary>Smallest limit accepted; below it the cut would land inside most lines.</summary>
    public const int MinDocumentChars = 256;

    /// <summary>Throws naming the bad value and the fix.</summary>
    public void Validate()
    {
        if (Separator is { Length: 0 })
        {
            throw new ArgumentException("--separator is empty; give a non-empty string such as \"\\n%\\n\", or leave it out (one document per file).");
        }
        if (MaxDocumentChars < MinDocumentChars)
        {
            throw new ArgumentException($"--max-document-chars {MaxDocumentChars} is below {MinDocumentChars}; use a larger limit (default {DefaultMaxDocumentChars}).");
        }
    }
}
