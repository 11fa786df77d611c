namespace Hivemind.Data;

/// <summary>Turns text into token ids and back; decode(encode(x)) == x for every valid string.</summary>
public interface ITextTokenizer
{
    /// <summary>Name used on the command line, in token files and in work units ("bytes", "gpt2").</summary>
    string Name { get; }

    /// <summary>Ids are in [0, VocabSize); a model's embedding and head have this many rows.</summary>
    int VocabSize { get; }

    /// <summary>The id placed between documents.</summary>
    int EndOfText { get; }

    /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>.</summary>
    void Encode(string text, List<int> ids);

    /// <summary>The text of <paramref name="ids"/>.</summary>
    string Decode(ReadOnlySpan<int> ids);
}
