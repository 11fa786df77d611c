using System.Text.Json;
using ICSharpCode.SharpZipLib.GZip;
using ZstdSharp;

namespace Hivemind.Data;

/// <summary>
/// Streams The Pile's LMD format: JSON lines of {"text": ..., "meta": {...}}, plain, zstd or gzip
/// (detected from the magic bytes). Memory stays bounded by the longest line, never the file.
/// </summary>
/// <remarks>One enumeration at a time: each <see cref="Documents()"/> call rewinds the shared file handle.</remarks>
public sealed class LmdReader : IDisposable
{
    private static readonly byte[] ZstdMagic = [0x28, 0xB5, 0x2F, 0xFD];
    private static readonly byte[] GzipMagic = [0x1F, 0x8B];

    private readonly FileStream _file;

    /// <summary>Opens <paramref name="path"/> for reading and detects its compression.</summary>
    public LmdReader(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        Compression = Detect(_file);
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>How the file is compressed.</summary>
    public LmdCompression Compression { get; }

    /// <summary>Every document, in file order.</summary>
    public IEnumerable<LmdDocument> Documents() => Documents(0, long.MaxValue);

    /// <summary>
    /// The documents whose line starts in [byteOffset, byteOffset + byteLength) of the decompressed stream.
    /// Compressed streams cannot seek, so earlier lines are decompressed and skipped (not parsed).
    /// </summary>
    public IEnumerable<LmdDocument> Documents(long byteOffset, long byteLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteOffset);
        ArgumentOutOfRangeException.ThrowIfNegative(byteLength);
        ObjectDisposedException.ThrowIf(!_file.CanRead, this);
        _file.Position = 0;
        return Read(_file, Path, Compression, byteOffset, byteLength);
    }

    /// <inheritdoc/>
    public void Dispose() => _file.Dispose();

    internal static LmdCompression Detect(Stream raw)
    {
        Span<byte> head = stackalloc byte[4];
        int n = raw.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        raw.Position = 0;
        // A file cut inside the magic itself still counts as compressed, so it reports as truncated.
        if (n > 0 && ZstdMagic.AsSpan().StartsWith(head[..Math.Min(n, ZstdMagic.Length)]))
        {
            return LmdCompression.Zstd;
        }
        return n > 0 && GzipMagic.AsSpan().StartsWith(head[..Math.Min(n, GzipMagic.Length)]) ? LmdCompression.Gzip : LmdCompression.None;
    }

    /// <summary>Core of the reader over any raw stream (the slicer passes one that hashes as it reads).</summary>
    internal static IEnumerable<LmdDocument> Read(Stream raw, string path, LmdCompression compression, long byteOffset, long byteLength)
    {
        long end = byteLength > long.MaxValue - byteOffset ? long.MaxValue : byteOffset + byteLength;
        using Stream decompressed = compression switch
        {
            LmdCompression.Zstd => new DecompressionStream(raw, leaveOpen: true),
            LmdCompression.Gzip => new GZipInputStream(raw) { IsStreamOwner = false },
            _ => new NonClosingStream(raw),
        };
        var lines = new LmdLineReader(decompressed, path, compression);
        while (lines.TryReadLine(out long offset, out ReadOnlyMemory<byte> line, out bool endsWithNewline))
        {
            if (offset >= end)
            {
                yield break;
            }
            if (offset < byteOffset || IsBlank(line.Span))
            {
                continue;
            }
            int length = line.Length + (endsWithNewline ? 1 : 0);
            yield return Parse(path, lines.LineNumber, offset, length, line, endsWithNewline);
        }
    }

    private static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;

    private static LmdDocument Parse(string path, long lineNumber, long offset, int length, ReadOnlyMemory<byte> line, bool endsWithNewline)
    {
        string hint = endsWithNewline ? "" : " The last line has no newline: the file may be truncated.";
        try
        {
            using JsonDocument json = JsonDocument.Parse(line);
            JsonElement root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new LmdFormatException(path, lineNumber, offset, $"expected a JSON object, found {root.ValueKind}.{hint}");
            }
            if (!root.TryGetProperty("text"u8, out JsonElement text) || text.ValueKind != JsonValueKind.String)
            {
                throw new LmdFormatException(path, lineNumber, offset, $"the object has no string \"text\" field.{hint}");
            }
            string? meta = root.TryGetProperty("meta"u8, out JsonElement m) ? m.GetRawText() : null;
            return new LmdDocument(text.GetString()!, meta, lineNumber, offset, length);
        }
        catch (JsonException e)
        {
            long at = offset + (e.BytePositionInLine ?? 0);
            throw new LmdFormatException(path, lineNumber, at, $"invalid JSON ({e.Message}).{hint}", e);
        }
        catch (InvalidOperationException e)
        {
            // GetString throws this for text that is not valid UTF-8.
            throw new LmdFormatException(path, lineNumber, offset, $"invalid text ({e.Message}).{hint}", e);
        }
    }
}
