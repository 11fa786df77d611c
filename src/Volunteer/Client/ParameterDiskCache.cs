using System.Security.Cryptography;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Volunteer.Client;

/// <summary>Downloaded parameters on disk, named by their SHA-256, verified on every read.</summary>
public static class ParameterDiskCache
{
    /// <summary>Files kept; the oldest are deleted beyond it.</summary>
    public const int MaxFiles = 16;

    public static ParameterSet? TryLoad(string directory, string sha256Hex) =>
        TryLoadBytes(directory, sha256Hex) is { } bytes ? TensorCodec.Decode(bytes, bytes.LongLength).Tensors : null;

    /// <summary>The cached payload, verified against its name; null when missing or corrupt (a corrupt file is deleted).</summary>
    public static byte[]? TryLoadBytes(string directory, string sha256Hex)
    {
        if (sha256Hex.Length == 0) return null;
        string path = Path.Combine(directory, sha256Hex + ".bin");
        if (!File.Exists(path)) return null;
        byte[] bytes = File.ReadAllBytes(path);
        if (Convert.ToHexStringLower(SHA256.HashData(bytes)) != sha256Hex)
        {
            File.Delete(path); // corrupt or truncated: fetch again
            return null;
        }
        return bytes;
    }

    public static void Store(string directory, string sha256Hex, byte[] bytes)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, sha256Hex + ".bin");
        string temp = path + "." + Environment.ProcessId + ".tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, path, overwrite: true);
        foreach (var old in new DirectoryInfo(directory).GetFiles("*.bin").OrderByDescending(f => f.LastWriteTimeUtc).Skip(MaxFiles))
            old.Delete();
    }
}
