using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text.Json;

namespace Hivemind.Data;

/// <summary>A pre-tokenized corpus, memory-mapped: training and evaluation read token ids without re-tokenizing.</summary>
public sealed class TokenFile : IDisposable
{
    private readonly MemoryMappedFile? _tokensMap;
    private readonly MemoryMappedViewAccessor? _tokens;
    private readonly MemoryMappedFile _indexMap;
    private readonly MemoryMappedViewAccessor _index;

    private TokenFile(string prefix, TokenFileHeader header, MemoryMappedFile? tokensMap, MemoryMappedViewAccessor? tokens,
        MemoryMappedFile indexMap, MemoryMappedViewAccessor index)
    {
        Prefix = prefix;
        Header = header;
        _tokensMap = tokensMap;
        _tokens = tokens;
        _indexMap = indexMap;
        _index = index;
    }

    /// <summary>The path prefix (PREFIX.tokens, PREFIX.idx).</summary>
    public string Prefix { get; }

    /// <summary>Tokenizer, sizes, hashes and component names.</summary>
    public TokenFileHeader Header { get; }

    /// <summary>Tokens stored, end-of-text ids included.</summary>
    public long Length => Header.Tokens;

    /// <summary>Opens PREFIX.tokens and PREFIX.idx (a path ending in either also works), checking that they agree.</summary>
    public static TokenFile Open(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string prefix = TokenFileFormat.Prefix(path);
        string tokensPath = TokenFileFormat.TokensPath(prefix), indexPath = TokenFileFormat.IndexPath(prefix);
        foreach (string p in new[] { tokensPath, indexPath })
        {
            if (!File.Exists(p)) throw new ArgumentException($"'{p}' does not exist; build it with `hivemind-corpus tokenize --in ARCHIVE --out {prefix}`.");
        }
        long indexLength = new FileInfo(indexPath).Length;
        int tail = sizeof(long) + TokenFileFormat.EndMagic.Length;
        if (indexLength < TokenFileFormat.StartMagic.Length + tail)
        {
            throw Corrupt(indexPath, $"it is {indexLength} bytes, too short for an index");
        }
        var indexMap = MemoryMappedFile.CreateFromFile(indexPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        var index = indexMap.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        try
        {
            TokenFileHeader header = ReadHeader(indexPath, index, indexLength);
            long tokensLength = new FileInfo(tokensPath).Length;
            if (tokensLength != header.Tokens * header.TokenBytes)
            {
                throw Corrupt(tokensPath, $"it is {tokensLength} bytes but the index says {header.Tokens} tokens of {header.TokenBytes} bytes");
            }
            MemoryMappedFile? tokensMap = null;
            MemoryMappedViewAccessor? tokens = null;
            if (tokensLength > 0)
            {
                tokensMap = MemoryMappedFile.CreateFromFile(tokensPath, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
                tokens = tokensMap.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
            }
            return new TokenFile(prefix, header, tokensMap, tokens, indexMap, index);
        }
        catch
        {
            index.Dispose();
            indexMap.Dispose();
            throw;
        }
    }

    /// <summary>Document <paramref name="i"/>'s record.</summary>
    public TokenDocument Document(long i)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(i);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, Header.Documents);
        long at = TokenFileFormat.StartMagic.Length + i * TokenFileFormat.RecordBytes;
        return new TokenDocument(_index.ReadInt64(at), _index.ReadInt32(at + 8), _index.ReadInt32(at + 12), _index.ReadInt64(at + 16));
    }

    /// <summary>Copies tokens [start, start + into.Length) into <paramref name="into"/>.</summary>
    public void Read(long start, Span<long> into)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        if (start + into.Length > Length)
        {
            throw new ArgumentOutOfRangeException(nameof(start), start, $"tokens [{start}, {start + into.Length}) run past the end of {Prefix}.tokens ({Length} tokens).");
        }
        long position = start * Header.TokenBytes;
        for (int i = 0; i < into.Length; i++, position += Header.TokenBytes)
        {
            into[i] = Header.TokenBytes == sizeof(ushort) ? _tokens!.ReadUInt16(position) : _tokens!.ReadInt32(position);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _tokens?.Dispose();
        _tokensMap?.Dispose();
        _index.Dispose();
        _indexMap.Dispose();
    }

    private static TokenFileHeader ReadHeader(string indexPath, MemoryMappedViewAccessor index, long indexLength)
    {
        var magic = new byte[TokenFileFormat.EndMagic.Length];
        index.ReadArray(0, magic, 0, magic.Length);
        if (!magic.AsSpan().SequenceEqual(TokenFileFormat.StartMagic)) throw Corrupt(indexPath, "it does not start with the token index magic");
        index.ReadArray(indexLength - magic.Length, magic, 0, magic.Length);
        if (!magic.AsSpan().SequenceEqual(TokenFileFormat.EndMagic)) throw Corrupt(indexPath, "it lacks the end magic (cut short while writing?)");
        long jsonLength = index.ReadInt64(indexLength - magic.Length - sizeof(long));
        long jsonStart = indexLength - magic.Length - sizeof(long) - jsonLength;
        if (jsonLength <= 0 || jsonStart < TokenFileFormat.StartMagic.Length) throw Corrupt(indexPath, $"its header length {jsonLength} does not fit the file");
        var json = new byte[jsonLength];
        index.ReadArray(jsonStart, json, 0, json.Length);
        TokenFileHeader header;
        try
        {
            header = JsonSerializer.Deserialize<TokenFileHeader>(json) ?? throw Corrupt(indexPath, "its header is null");
        }
        catch (JsonException e)
        {
            throw Corrupt(indexPath, $"its header is not valid JSON ({e.Message})");
        }
        if (jsonStart - TokenFileFormat.StartMagic.Length != header.Documents * TokenFileFormat.RecordBytes)
        {
            throw Corrupt(indexPath, $"it holds {(jsonStart - TokenFileFormat.StartMagic.Length) / TokenFileFormat.RecordBytes} records but the header says {header.Documents} documents");
        }
        if (header.TokenBytes is not (sizeof(ushort) or sizeof(int))) throw Corrupt(indexPath, $"TokenBytes is {header.TokenBytes}, expected 2 or 4");
        return header;
    }

    private static InvalidDataException Corrupt(string path, string reason) =>
        new($"{path}: {reason}; re-run `hivemind-corpus tokenize` to rebuild the token file.");
}
