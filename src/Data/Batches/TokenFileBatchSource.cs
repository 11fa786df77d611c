namespace Hivemind.Data;

/// <summary>
/// Batches from a range of a pre-tokenized corpus: row i (counted across calls) is SeqLen + 1 consecutive
/// tokens starting at an offset drawn from (seed, i), so rows depend only on their index, like the synthetic
/// source, and a work unit named by (token file, range, seed) is deterministic. Domain is 0 for every row.
/// </summary>
public sealed class TokenFileBatchSource : IBatchSource
{
    private readonly TokenFile _file;
    private readonly long _start;
    private readonly long _length;
    private readonly long _seed;
    private long _nextRow;

    /// <summary>Serves rows from tokens [start, start + length) of <paramref name="file"/>; the file stays owned by the caller.</summary>
    public TokenFileBatchSource(TokenFile file, long start, long length, long seed)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (start < 0 || length < 2 || start + length > file.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length,
                $"token range [{start}, {start + length}) is not inside {file.Prefix}.tokens ({file.Length} tokens) or holds fewer than 2 tokens; pick a range inside the file.");
        }
        _file = file;
        _start = start;
        _length = length;
        _seed = seed;
    }

    /// <inheritdoc/>
    public TokenBatch Next(int batchSize, int seqLen)
    {
        BatchShape.Check(batchSize, seqLen);
        int rowLength = seqLen + 1;
        if (rowLength > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, $"rows of {rowLength} tokens do not fit the range of {_length} tokens; use a shorter sequence or a larger range.");
        }
        var tokens = new long[batchSize * rowLength];
        long starts = _length - rowLength + 1;
        for (int r = 0; r < batchSize; r++)
        {
            long row = _nextRow++;
            long offset = (long)(SeedMixer.Mix(_seed, row) % (ulong)starts);
            _file.Read(_start + offset, tokens.AsSpan(r * rowLength, rowLength));
        }
        return new TokenBatch(tokens, batchSize, seqLen, new int[batchSize]);
    }
}
