using System.Buffers.Binary;

namespace Hivemind.Data;

/// <summary>
/// Batches from one token slice held in memory (a volunteer's verified copy of what <see cref="TokenCorpus"/> serves): row i
/// (counted across calls) is SeqLen + 1 consecutive ids starting at an offset drawn from (seed, i), as in
/// <see cref="TokenFileBatchSource"/>, so a unit named by (slice hash, seed) trains on the same rows wherever it runs.
/// </summary>
public sealed class TokenSliceBatchSource : IBatchSource
{
    private readonly long[] _tokens;
    private readonly long _seed;
    private long _nextRow;

    /// <summary>Decodes <paramref name="bytes"/> (<paramref name="tokenBytes"/>-byte little-endian ids, each below <paramref name="vocabSize"/>).</summary>
    public TokenSliceBatchSource(ReadOnlySpan<byte> bytes, int tokenBytes, int vocabSize, long seed)
    {
        if (tokenBytes is not (sizeof(ushort) or sizeof(int)) || bytes.Length % tokenBytes != 0 || bytes.Length < 2 * tokenBytes)
        {
            throw new ArgumentException($"a token slice of {bytes.Length} bytes is not a whole number (at least 2) of {tokenBytes}-byte ids; the file is not the slice the work unit names.");
        }
        _tokens = new long[bytes.Length / tokenBytes];
        for (int i = 0; i < _tokens.Length; i++)
        {
            long id = tokenBytes == sizeof(ushort)
                ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[(i * tokenBytes)..])
                : BinaryPrimitives.ReadInt32LittleEndian(bytes[(i * tokenBytes)..]);
            if (id < 0 || id >= vocabSize)
            {
                throw new InvalidDataException($"token {i} of the slice is id {id}, outside the vocabulary of {vocabSize}; the slice was not made with this model's tokenizer.");
            }
            _tokens[i] = id;
        }
        _seed = seed;
    }

    /// <summary>Opens a slice file (see <see cref="BatchSources.Open"/>); the caller checked its hash.</summary>
    public static TokenSliceBatchSource Open(string path, DataSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long length = new FileInfo(path).Length;
        if (length != spec.ByteLength)
        {
            throw new InvalidDataException($"{path} is {length} bytes but the work unit's slice is {spec.ByteLength}; delete it so it is fetched again.");
        }
        return new TokenSliceBatchSource(File.ReadAllBytes(path), spec.TokenBytes, spec.VocabSize, spec.SliceSeed);
    }

    /// <summary>Ids in the slice.</summary>
    public long Length => _tokens.Length;

    /// <inheritdoc/>
    public TokenBatch Next(int batchSize, int seqLen)
    {
        BatchShape.Check(batchSize, seqLen);
        int rowLength = seqLen + 1;
        if (rowLength > _tokens.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, $"rows of {rowLength} tokens do not fit a slice of {_tokens.Length} tokens; use a shorter sequence.");
        }
        var tokens = new long[batchSize * rowLength];
        long starts = _tokens.Length - rowLength + 1;
        for (int r = 0; r < batchSize; r++)
        {
            long row = _nextRow++;
            int offset = (int)(SeedMixer.Mix(_seed, row) % (ulong)starts);
            _tokens.AsSpan(offset, rowLength).CopyTo(tokens.AsSpan(r * rowLength, rowLength));
        }
        return new TokenBatch(tokens, batchSize, seqLen, new int[batchSize]);
    }
}
