using System.Security.Cryptography;

namespace Hivemind.Data;

/// <summary>Cuts an LMD file into work-unit slices by byte ranges of its decompressed stream, in one streaming pass.</summary>
public static class LmdSlicer
{
    /// <summary>
    /// Reads and checks every line of <paramref name="path"/> while hashing the stored bytes, and cuts a new
    /// slice at the first line that starts <paramref name="targetSliceBytes"/> or more after the slice start.
    /// The slices are contiguous and every document falls in exactly one; the same file gives the same slices.
    /// </summary>
    /// <exception cref="LmdFormatException">A line is corrupt or the file is truncated.</exception>
    public static LmdSlicing Slice(string path, long targetSliceBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (targetSliceBytes < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(targetSliceBytes), targetSliceBytes, "The slice size must be at least 1 byte; a few megabytes suits a work unit.");
        }
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        LmdCompression compression = LmdReader.Detect(file);
        using var sha = SHA256.Create();
        using var hashing = new CryptoStream(file, sha, CryptoStreamMode.Read, leaveOpen: true);

        var pendingStarts = new List<long>();
        long sliceStart = 0;
        long end = 0;
        long documents = 0;
        foreach (LmdDocument doc in LmdReader.Read(hashing, path, compression, 0, long.MaxValue))
        {
            if (doc.ByteOffset - sliceStart >= targetSliceBytes)
            {
                pendingStarts.Add(sliceStart);
                sliceStart = doc.ByteOffset;
            }
            end = doc.ByteOffset + doc.ByteLength;
            documents++;
        }
        if (documents == 0)
        {
            throw new LmdFormatException(path, 1, 0, "the file holds no documents; give a non-empty .jsonl, .jsonl.zst or .jsonl.gz file.");
        }
        pendingStarts.Add(sliceStart);

        // The decompressor may stop at the end of its frame; hash whatever follows too.
        hashing.CopyTo(Stream.Null);
        string hash = Convert.ToHexStringLower(sha.Hash!);
        var slices = new List<DataSpec>(pendingStarts.Count);
        for (int i = 0; i < pendingStarts.Count; i++)
        {
            long stop = i + 1 < pendingStarts.Count ? pendingStarts[i + 1] : end;
            slices.Add(DataSpec.File(hash, pendingStarts[i], stop - pendingStarts[i]));
        }
        return new LmdSlicing(hash, end, documents, slices);
    }
}
