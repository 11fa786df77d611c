using Hivemind.Data;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>Splits a <see cref="TokenBatch"/> (rows of seqLen + 1 bytes) into model inputs and next-byte targets.</summary>
internal static class BatchTensors
{
    public static (long[] Inputs, long[] Targets) Split(TokenBatch batch)
    {
        int b = batch.BatchSize, t = batch.SeqLen;
        if (batch.Tokens.Length != (long)b * (t + 1))
            throw new ArgumentException($"batch has {batch.Tokens.Length} tokens but {b} rows of {t + 1} were expected; the batch source broke its contract.");
        var inputs = new long[b * t];
        var targets = new long[b * t];
        for (int r = 0; r < b; r++)
        {
            batch.Tokens.AsSpan(r * (t + 1), t).CopyTo(inputs.AsSpan(r * t));
            batch.Tokens.AsSpan(r * (t + 1) + 1, t).CopyTo(targets.AsSpan(r * t));
        }
        return (inputs, targets);
    }

    public static Tensor Inputs(long[] inputs, int b, int t) => tensor(inputs, [b, t]);
}
