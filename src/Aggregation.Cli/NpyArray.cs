namespace Hivemind.Aggregation.Cli;

/// <summary>A float32 array read from or written to .npy: a stack of rows (n×d) or one vector (d).</summary>
public sealed class NpyArray(float[] data, int rows, int columns, bool isVector)
{
    public float[] Data { get; } = data;

    public int Rows { get; } = rows;

    public int Columns { get; } = columns;

    /// <summary>True for a 1-D array (shape (d,)), which counts as one row.</summary>
    public bool IsVector { get; } = isVector;

    public static NpyArray Vector(float[] data) => new(data, 1, data.Length, isVector: true);

    public static NpyArray Stack(IReadOnlyList<float[]> rows)
    {
        int columns = rows.Count == 0 ? 0 : rows[0].Length;
        var data = new float[(long)rows.Count * columns];
        for (int i = 0; i < rows.Count; i++)
        {
            rows[i].CopyTo(data, (long)i * columns);
        }

        return new NpyArray(data, rows.Count, columns, isVector: false);
    }

    /// <summary>Each row as a slice of <see cref="Data"/>: no copy.</summary>
    public IReadOnlyList<ReadOnlyMemory<float>> RowSlices() =>
        Enumerable.Range(0, Rows).Select(i => (ReadOnlyMemory<float>)Data.AsMemory(i * Columns, Columns)).ToArray();
}
