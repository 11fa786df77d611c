namespace Hivemind.Data;

/// <summary>An LMD file is corrupt or truncated; names the file, the line and the byte offset.</summary>
public sealed class LmdFormatException : Exception
{
    /// <summary>Creates the exception; the message carries all three positions.</summary>
    public LmdFormatException(string path, long lineNumber, long byteOffset, string reason, Exception? inner = null)
        : base($"{path}: line {lineNumber}, byte offset {byteOffset} (decompressed): {reason}", inner)
    {
        Path = path;
        LineNumber = lineNumber;
        ByteOffset = byteOffset;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>1-based line where reading failed.</summary>
    public long LineNumber { get; }

    /// <summary>Offset in the decompressed stream where reading failed.</summary>
    public long ByteOffset { get; }
}
