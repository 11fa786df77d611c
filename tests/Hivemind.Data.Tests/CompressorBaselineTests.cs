namespace Hivemind.Data.Tests;

/// <summary>The zstd -19 bits-per-byte row.</summary>
public sealed class CompressorBaselineTests : IDisposable
{
    private readonly LmdFiles _files = new();

    [Fact]
    public void RepetitiveTextCompressesBetterThanRandomTextPerComponent()
    {
        string path = Path.Combine(_files.Folder, "b.jsonl.zst");
        var random = new Random(7);
        using (var writer = new LmdWriter(path))
        {
            for (int i = 0; i < 50; i++)
            {
                writer.Write(string.Concat(Enumerable.Repeat("the same sentence again. ", 40)), "Repetitive");
                writer.Write(new string(Enumerable.Range(0, 1000).Select(_ => (char)random.Next(33, 127)).ToArray()), "Random");
            }
        }

        BitsPerByteTable table = CompressorBaseline.Measure(path);

        Assert.Equal(["Repetitive", "Random"], table.Components.Select(r => r.Component));
        double repetitive = table.Components[0].BitsPerByte, randomBits = table.Components[1].BitsPerByte;
        // 94 printable symbols carry log2(94) = 6.55 bits; nothing compresses them below that.
        Assert.InRange(randomBits, 6.55, 8.2);
        Assert.InRange(repetitive, 0, 0.1);
        Assert.InRange(table.All.BitsPerByte, repetitive, randomBits);
        Assert.Equal(table.Components.Sum(r => r.TextBytes), table.All.TextBytes);
        string markdown = BitsPerByteTable.Markdown([table]);
        Assert.Contains("| overall | 100 |", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public void ASelectionScoresOnlyTheChosenDocuments()
    {
        string path = Path.Combine(_files.Folder, "s.jsonl.zst");
        using (var writer = new LmdWriter(path))
        {
            for (int i = 0; i < 10; i++) writer.Write($"document {i} " + new string('x', 100 * (i + 1)), i % 2 == 0 ? "Even" : "Odd");
        }

        BitsPerByteTable table = CompressorBaseline.Measure(path, new HashSet<long> { 0, 2, 3 });

        Assert.Equal(["Even", "Odd"], table.Components.Select(r => r.Component));
        Assert.Equal([2L, 1L], table.Components.Select(r => r.Documents));
        Assert.Equal("document 0 ".Length + 100 + "document 2 ".Length + 300, table.Components[0].TextBytes);
        Assert.Equal(3, table.All.Documents);
    }

    public void Dispose() => _files.Dispose();
}
