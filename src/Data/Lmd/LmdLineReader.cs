using ICSharpCode.SharpZipLib;
using ZstdSharp;

namespace Hivemind.Data;

/// <summary>Splits a decompressed LMD stream into lines with their numbers and offsets, in bounded memory.</summary>
internal sealed class LmdLineReader
{
    /// <summary>A line longer than this is taken as corruption (a missing newline), not a document.</summary>
    public const int MaxLineBytes = 256 << 20;

    private const int InitialBuffer = 1 << 16;

    private readonly Stream _stream;
    private readonly string _path;
    private readonly LmdCompression _compression;
    private byte[] _buffer = new byte[InitialBuffer];
    private int _start;
    private int _end;
    private long _bufferOffset;   // decompressed offset of _buffer[0]
    private bool _eof;

    public LmdLineReader(Stream decompressed, string path, LmdCompression compression)
    {
        _stream = decompressed;
        _path = path;
        _compression = compression;
    }

    /// <summary>1-based number of the line last returned.</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line without its newline; the memory is valid until the next call.</summary>
    public bool TryReadLine(out long offset, out ReadOnlyMemory<byte> line, out bool endsWithNewline)
    {
        int searched = 0;
        while (true)
        {
            int newline = _buffer.AsSpan(_start + searched, _end - _start - searched).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                int length = searched + newline;
                offset = _bufferOffset + _start;
                line = _buffer.AsMemory(_start, length);
                endsWithNewline = true;
                _start += length + 1;
                LineNumber++;
                return true;
            }
            searched = _end - _start;
            if (_eof)
            {
                offset = _bufferOffset + _start;
                line = _buffer.AsMemory(_start, _end - _start);
                endsWithNewline = false;
                _start = _end;
                if (line.Length == 0)
                {
                    return false;
                }
                LineNumber++;
                return true;
            }
            Fill();
        }
    }

    private void Fill()
    {
        if (_start > 0)
        {
            // Keep the partial line, drop what was consumed.
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _bufferOffset += _start;
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
        {
            if (_buffer.Length >= MaxLineBytes)
            {
                throw new LmdFormatException(_path, LineNumber + 1, _bufferOffset, $"no newline within {MaxLineBytes} bytes; the file is not JSON lines or is corrupt.");
            }
            Array.Resize(ref _buffer, Math.Min(_buffer.Length * 2, MaxLineBytes));
        }
        int read;
        try
        {
            read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or ZstdException or SharpZipBaseException)
        {
            throw new LmdFormatException(_path, LineNumber + 1, _bufferOffset + _end,
                $"the {_compression} stream is truncated or corrupt ({e.Message}); re-download the file and check its SHA-256.", e);
        }
        _end += read;
        _eof = read == 0;
    }
}
