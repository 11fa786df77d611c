namespace Hivemind.Data;

/// <summary>Serves token batches for one DataSpec; the same spec and the same calls give the same batches.</summary>
public interface IBatchSource
{
    /// <summary>The next <paramref name="batchSize"/> rows of <paramref name="seqLen"/> + 1 tokens.</summary>
    TokenBatch Next(int batchSize, int seqLen);
}
