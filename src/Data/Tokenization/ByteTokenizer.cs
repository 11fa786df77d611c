using System.Text;

namespace Hivemind.Data;

/// <summary>UTF-8 bytes as tokens, as the synthetic corpus and the byte-level presets use; 0 ends a document.</summary>
public sealed class ByteTokenizer : ITextTokenizer
{
    /// <summary>The command-line name.</summary>
    public const string TokenizerName = "bytes";

    /// <summary>One id per byte value.</summary>
    public const int ByteVocabulary = 256;

    /// <summary>The shared instance (the tokenizer has no state).</summary>
    public static ByteTokenizer Instance { get; } = new();

    /// <inheritdoc/>
    public string Name => TokenizerName;

    /// <inheritdoc/>
    public int VocabSize => ByteVocabulary;

    /// <inheritdoc/>
    public int EndOfText => FileBatchSource.EndOfDocument;

    /// <inheritdoc/>
    public void Encode(string text, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ids);
        foreach (byte b in Encoding.UTF8.GetBytes(text)) ids.Add(b);
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new byte[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= ByteVocabulary)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"token {i} is {ids[i]}, outside the byte vocabulary [0, {ByteVocabulary}); the ids are not from the bytes tokenizer.");
            }
            bytes[i] = (byte)ids[i];
        }
        return Encoding.UTF8.GetString(bytes);
    }
}
