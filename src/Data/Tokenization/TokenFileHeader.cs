namespace Hivemind.Data;

/// <summary>The footer of a token file's index: how it was tokenized, what it holds, and where it came from.</summary>
/// <param name="Tokenizer">Tokenizer name ("bytes", "gpt2").</param>
/// <param name="VocabSize">Ids are below this.</param>
/// <param name="EndOfText">Id written after every document.</param>
/// <param name="TokenBytes">Bytes per stored token: 2 (little-endian uint16) when the vocabulary fits, else 4 (int32).</param>
/// <param name="Documents">Documents (index records).</param>
/// <param name="Tokens">Tokens stored, end-of-text ids included.</param>
/// <param name="TextBytes">UTF-8 bytes of all document texts: the denominator of bits per byte.</param>
/// <param name="SourceSha256">SHA-256 of the LMD archive that was tokenized.</param>
/// <param name="TokensSha256">SHA-256 of the .tokens file: its name when it travels.</param>
/// <param name="Components">Component names; index records refer to them by position.</param>
public sealed record TokenFileHeader(
    string Tokenizer,
    int VocabSize,
    int EndOfText,
    int TokenBytes,
    long Documents,
    long Tokens,
    long TextBytes,
    string SourceSha256,
    string TokensSha256,
    IReadOnlyList<string> Components);
