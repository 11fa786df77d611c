namespace Hivemind.Data;

/// <summary>One line of an LMD file: the document text, its raw "meta" JSON, and where the line sits.</summary>
/// <param name="Text">The "text" field.</param>
/// <param name="MetaJson">The "meta" field as raw JSON, or null when absent.</param>
/// <param name="LineNumber">1-based line number in the file.</param>
/// <param name="ByteOffset">Offset of the line's first byte in the decompressed stream.</param>
/// <param name="ByteLength">Bytes of the line in the decompressed stream, newline included.</param>
public sealed record LmdDocument(string Text, string? MetaJson, long LineNumber, long ByteOffset, int ByteLength);
