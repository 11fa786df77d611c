using System.Security.Cryptography;
using System.Text;

namespace Hivemind.Data;

/// <summary>Reads an LMD archive once, streaming, and reports what it holds.</summary>
public static class CorpusInspector
{
    /// <summary>Inspects <paramref name="path"/>; a corrupt line throws <see cref="LmdFormatException"/>.</summary>
    public static CorpusInspection Inspect(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        RequireFile(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        LmdCompression compression = LmdReader.Detect(file);
        using var sha = SHA256.Create();
        using var hashing = new CryptoStream(file, sha, CryptoStreamMode.Read, leaveOpen: true);
        var stats = new CorpusStatistics();
        long decompressed = 0;
        foreach (LmdDocument doc in LmdReader.Read(hashing, path, compression, 0, long.MaxValue))
        {
            stats.Add(LmdMeta.Component(doc.MetaJson), Encoding.UTF8.GetByteCount(doc.Text));
            decompressed = doc.ByteOffset + doc.ByteLength;
        }
        hashing.CopyTo(Stream.Null);
        return new CorpusInspection(path, Convert.ToHexStringLower(sha.Hash!), compression, file.Length, decompressed, stats);
    }

    /// <summary>SHA-256 of a file as stored, lowercase hex.</summary>
    public static string Sha256(string path)
    {
        RequireFile(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    internal static void RequireFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ArgumentException($"'{path}' does not exist or is not a file; give the path of an LMD archive (.jsonl, .jsonl.zst or .jsonl.gz).");
        }
    }
}
