namespace Hivemind.Data;

/// <summary>
/// A batch of byte tokens: row r is Tokens[r*(SeqLen+1) .. (r+1)*(SeqLen+1)); inputs are its first SeqLen
/// tokens, targets the last SeqLen (shifted by one). Domains[r] is the row's domain (0 for file data).
/// </summary>
public sealed record TokenBatch(long[] Tokens, int BatchSize, int SeqLen, int[] Domains)
{
    /// <summary>Tokens per row: SeqLen inputs plus the one extra target.</summary>
    public int RowLength => SeqLen + 1;

    /// <summary>One row's SeqLen + 1 tokens.</summary>
    public ReadOnlySpan<long> Row(int row) => Tokens.AsSpan(row * RowLength, RowLength);
}
