namespace Hivemind.Data;

/// <summary>One document of a token file: where its tokens start, how many, its component and its text's UTF-8 bytes.</summary>
/// <param name="FirstToken">Position of its first token in the .tokens file (counted in tokens).</param>
/// <param name="TokenCount">Its tokens, the end-of-text id after them not included.</param>
/// <param name="Component">Index into <see cref="TokenFileHeader.Components"/>.</param>
/// <param name="TextBytes">UTF-8 bytes of its text.</param>
public readonly record struct TokenDocument(long FirstToken, int TokenCount, int Component, long TextBytes);
