using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ZstdSharp;

namespace Hivemind.Data.Tests;

/// <summary>Writes LMD test files in a temporary folder that is deleted on dispose.</summary>
public sealed class LmdFiles : IDisposable
{
    public LmdFiles()
    {
        Folder = Directory.CreateTempSubdirectory("hivemind-lmd-").FullName;
    }

    public string Folder { get; }

    /// <summary>Documents with multi-byte UTF-8, escapes and varied lengths, as The Pile has.</summary>
    public static IReadOnlyList<string> Texts { get; } = Enumerable.Range(0, 40)
        .Select(i => $"doc {i}: " + string.Concat(Enumerable.Repeat("héllo \"wörld\"\n\t✓ ", i % 7 + 1)))
        .ToArray();

    /// <summary>The decompressed bytes of the standard file.</summary>
    public static byte[] Jsonl(IEnumerable<string> texts) => Encoding.UTF8.GetBytes(string.Concat(texts.Select((t, i) =>
        JsonSerializer.Serialize(new { text = t, meta = new { pile_set_name = i % 2 == 0 ? "Github" : "Enron Emails" } }) + "\n")));

    public string Write(string name, byte[] decompressed)
    {
        string path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, name.EndsWith(".zst", StringComparison.Ordinal) ? Zstd(decompressed)
            : name.EndsWith(".gz", StringComparison.Ordinal) ? Gzip(decompressed)
            : decompressed);
        return path;
    }

    public static byte[] Zstd(byte[] data)
    {
        using var output = new MemoryStream();
        using (var z = new CompressionStream(output, level: 3, leaveOpen: true))
        {
            z.Write(data);
        }
        return output.ToArray();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var g = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            g.Write(data);
        }
        return output.ToArray();
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}
