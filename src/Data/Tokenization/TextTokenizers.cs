namespace Hivemind.Data;

/// <summary>The tokenizers by name: one place that maps "bytes" and "gpt2" to an instance.</summary>
public static class TextTokenizers
{
    /// <summary>Names accepted by <see cref="Get"/>.</summary>
    public static IReadOnlyList<string> Names { get; } = [ByteTokenizer.TokenizerName, Gpt2Tokenizer.TokenizerName];

    /// <summary>The tokenizer called <paramref name="name"/>.</summary>
    public static ITextTokenizer Get(string name) => name switch
    {
        ByteTokenizer.TokenizerName => ByteTokenizer.Instance,
        Gpt2Tokenizer.TokenizerName => Gpt2Tokenizer.Instance,
        _ => throw new ArgumentException($"unknown tokenizer '{name}'; use one of: {string.Join(", ", Names)}."),
    };
}
