namespace Hivemind.Data;

/// <summary>Streams a text into documents: split at a separator, then cut any piece longer than a limit at a paragraph or line end.</summary>
internal sealed class DocumentCutter
{
    private const int ReadChars = 1 << 16;

    private readonly string? _separator;
    private readonly int _maxChars;
    private readonly char[] _buffer;
    private int _start;
    private int _end;

    public DocumentCutter(CorpusBuildOptions options)
    {
        _separator = options.Separator;
        _maxChars = options.MaxDocumentChars;
        // Room for a full window plus a separator plus one more read, so a decision never lacks characters.
        _buffer = new char[_maxChars + (_separator?.Length ?? 0) + 2 * ReadChars];
    }

    /// <summary>The documents of <paramref name="reader"/> in order; whitespace-only pieces are dropped.</summary>
    public IEnumerable<string> Cut(TextReader reader)
    {
        _start = _end = 0;
        bool eof = false;
        int lookahead = _maxChars + (_separator?.Length ?? 0);
        while (true)
        {
            while (!eof && _end - _start < lookahead)
            {
                if (_buffer.Length - _end < ReadChars)
                {
                    Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }
                int read = reader.Read(_buffer, _end, ReadChars);
                eof = read == 0;
                _end += read;
            }
            int available = _end - _start;
            if (available == 0) yield break;
            ReadOnlySpan<char> window = _buffer.AsSpan(_start, Math.Min(available, lookahead));
            int sep = _separator is null ? -1 : window.IndexOf(_separator);
            int take, skip = 0;
            if (sep >= 0 && sep <= _maxChars)
            {
                take = sep;
                skip = _separator!.Length;
            }
            else if (available > _maxChars)
            {
                take = CutPoint(window[.._maxChars]);
            }
            else
            {
                take = available;
            }
            string piece = new(_buffer, _start, take);
            _start += take + skip;
            if (!string.IsNullOrWhiteSpace(piece)) yield return piece;
        }
    }

    // After the last blank line if it is in the second half, else after the last newline there, else
    // at the limit (never between the halves of a surrogate pair).
    private static int CutPoint(ReadOnlySpan<char> window)
    {
        int half = window.Length / 2;
        int paragraph = window.LastIndexOf("\n\n");
        if (paragraph >= half) return paragraph + 2;
        int line = window.LastIndexOf('\n');
        if (line >= half) return line + 1;
        return char.IsHighSurrogate(window[^1]) ? window.Length - 1 : window.Length;
    }
}
