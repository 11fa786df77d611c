using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using ZstdSharp;

namespace Hivemind.Data;

/// <summary>
/// Writes The Pile's LMD format as lm_dataformat does: one zstd frame of JSON lines
/// {"text": ..., "meta": {...}}, one document a line. Streaming: memory is bounded by the longest document.
/// </summary>
/// <remarks>
/// One frame, because lm_dataformat reads with python-zstandard's stream_reader, which stops at the end of
/// the first frame. Single-threaded at a fixed level, so the same documents give the same bytes.
/// </remarks>
public sealed class LmdWriter : IDisposable
{
    /// <summary>lm_dataformat's Archive compresses at level 3.</summary>
    public const int CompressionLevel = 3;

    /// <summary>The meta field that names a document's component in The Pile.</summary>
    public const string ComponentField = "pile_set_name";

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Plain UTF-8 instead of \u escapes for non-ASCII text; JSON stays valid and lines stay short.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    private readonly FileStream _file;
    private readonly CompressionStream _zstd;
    private readonly ArrayBufferWriter<byte> _line = new(1 << 16);
    private readonly Utf8JsonWriter _json;
    private bool _disposed;

    /// <summary>Creates (or replaces) <paramref name="path"/>; the parent folder is created if missing.</summary>
    public LmdWriter(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        Path = path;
        string? folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (folder is not null) Directory.CreateDirectory(folder);
        _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);
        _zstd = new CompressionStream(_file, CompressionLevel, leaveOpen: true);
        _json = new Utf8JsonWriter(_line, JsonOptions);
    }

    /// <summary>The file being written.</summary>
    public string Path { get; }

    /// <summary>Documents written so far.</summary>
    public long Documents { get; private set; }

    /// <summary>Decompressed bytes written so far (JSON lines, newlines included).</summary>
    public long DecompressedBytes { get; private set; }

    /// <summary>Appends a document whose meta is {"pile_set_name": <paramref name="component"/>}.</summary>
    public void Write(string text, string component)
    {
        ArgumentException.ThrowIfNullOrEmpty(component);
        WriteLine(text, w =>
        {
            w.WriteStartObject();
            w.WriteString(ComponentField, component);
            w.WriteEndObject();
        });
    }

    /// <summary>Appends a document with its meta as raw JSON (as read by <see cref="LmdReader"/>), or no meta when null.</summary>
    public void WriteRaw(string text, string? metaJson) =>
        WriteLine(text, metaJson is null ? null : w => w.WriteRawValue(metaJson, skipInputValidation: false));

    /// <summary>Ends the zstd frame and flushes the file to disk.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _json.Dispose();
        _zstd.Dispose();
        _file.Flush(flushToDisk: true);
        _file.Dispose();
    }

    private void WriteLine(string text, Action<Utf8JsonWriter>? meta)
    {
        ArgumentNullException.ThrowIfNull(text);
        ObjectDisposedException.ThrowIf(_disposed, this);
        _line.ResetWrittenCount();
        _json.Reset(_line);
        _json.WriteStartObject();
        try
        {
            _json.WriteString("text"u8, text);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"document {Documents + 1} for {Path}: the text is not valid UTF-16 ({e.Message}); decode the source as UTF-8 before writing.", nameof(text), e);
        }
        if (meta is not null)
        {
            _json.WritePropertyName("meta"u8);
            meta(_json);
        }
        _json.WriteEndObject();
        _json.Flush();
        _zstd.Write(_line.WrittenSpan);
        _zstd.WriteByte((byte)'\n');
        Documents++;
        DecompressedBytes += _line.WrittenCount + 1;
    }
}
