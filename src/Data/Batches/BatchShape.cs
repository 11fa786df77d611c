namespace Hivemind.Data;

/// <summary>Shared argument checks for batch sources.</summary>
internal static class BatchShape
{
    // Keeps batch*(seqLen+1) inside one array.
    private const long MaxTokens = int.MaxValue / 2;

    public static void Check(int batchSize, int seqLen)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        }
        if (seqLen < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, "The sequence length must be at least 1.");
        }
        if ((long)batchSize * (seqLen + 1) > MaxTokens)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batch {batchSize} x (seqLen {seqLen} + 1) tokens exceeds {MaxTokens}; use smaller batches.");
        }
    }
}
