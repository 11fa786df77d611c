namespace Hivemind.Aggregation.Kernels;

/// <summary>
/// outputᵢ = mean of rows[groupsᵢ] for many outputs at once. Loops coordinate chunks outermost so
/// each chunk of every row is fetched from memory once and then reused from cache by every output,
/// instead of one full pass over memory per output.
/// </summary>
internal static class RowMixer
{
    /// <summary>2048 floats per row per chunk: 64 rows × 8 KB = 512 KB stays in L2.</summary>
    private const int ChunkCoordinates = 2048;

    public static float[][] MeanOfGroups(IReadOnlyList<ReadOnlyMemory<float>> rows, IReadOnlyList<int[]> groups)
    {
        int d = rows.Count == 0 ? 0 : rows[0].Length;
        var outputs = new float[groups.Count][];
        for (int g = 0; g < groups.Count; g++)
        {
            outputs[g] = new float[d];
        }

        int chunks = (d + ChunkCoordinates - 1) / ChunkCoordinates;
        Parallel.For(0, chunks, AggregationParallelism.Current, chunk =>
        {
            int start = chunk * ChunkCoordinates;
            int length = Math.Min(d, start + ChunkCoordinates) - start;
            for (int g = 0; g < groups.Count; g++)
            {
                int[] members = groups[g];
                Span<float> output = outputs[g].AsSpan(start, length);
                float scale = 1f / members.Length;
                foreach (int member in members)
                {
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(rows[member].Span.Slice(start, length), scale, output, output);
                }
            }
        });
        return outputs;
    }
}
