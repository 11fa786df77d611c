using System.Text;

namespace Hivemind.Data;

/// <summary>
/// Batches from one slice of an LMD file: the slice's documents as UTF-8 bytes, each followed by
/// <see cref="EndOfDocument"/>, cut into consecutive rows of SeqLen + 1 bytes, wrapping to the slice
/// start when it runs out. Domain is 0 for every row.
/// </summary>
public sealed class FileBatchSource : IBatchSource
{
    /// <summary>Byte appended after every document; 0 never occurs in normal text.</summary>
    public const byte EndOfDocument = 0;

    /// <summary>A slice is held in memory (it is work-unit sized); larger means a mis-sized slice.</summary>
    public const long MaxSliceBytes = 1L << 30;

    private readonly byte[] _bytes;
    private long _position;

    /// <summary>Loads the documents of [byteOffset, byteOffset + byteLength) of <paramref name="path"/>.</summary>
    public FileBatchSource(string path, long byteOffset, long byteLength)
    {
        if (byteLength > MaxSliceBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(byteLength), byteLength, $"A slice of {byteLength} bytes exceeds {MaxSliceBytes}; cut the file into smaller slices with LmdSlicer.");
        }
        using var reader = new LmdReader(path);
        using var buffer = new MemoryStream();
        foreach (LmdDocument doc in reader.Documents(byteOffset, byteLength))
        {
            buffer.Write(Encoding.UTF8.GetBytes(doc.Text));
            buffer.WriteByte(EndOfDocument);
        }
        if (buffer.Length == 0)
        {
            throw new ArgumentException($"{path}: no document starts in bytes [{byteOffset}, {byteOffset + byteLength}); the DataSpec does not match this file, or the file is not the one hashed.");
        }
        _bytes = buffer.ToArray();
    }

    /// <summary>Bytes of the slice, separators included.</summary>
    public long Length => _bytes.Length;

    /// <inheritdoc/>
    public TokenBatch Next(int batchSize, int seqLen)
    {
        BatchShape.Check(batchSize, seqLen);
        var tokens = new long[batchSize * (seqLen + 1)];
        for (int i = 0; i < tokens.Length; i++)
        {
            tokens[i] = _bytes[_position];
            _position = (_position + 1) % _bytes.Length;
        }
        return new TokenBatch(tokens, batchSize, seqLen, new int[batchSize]);
    }
}
