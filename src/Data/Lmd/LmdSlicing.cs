namespace Hivemind.Data;

/// <summary>An LMD file cut into work-unit slices: its hash, its size and one file DataSpec per slice.</summary>
/// <param name="FileSha256">Lowercase hex SHA-256 of the file as stored.</param>
/// <param name="DecompressedLength">End of the last document in the decompressed stream.</param>
/// <param name="DocumentCount">Documents in the file.</param>
/// <param name="Slices">Contiguous byte ranges from 0 to DecompressedLength, each starting at a line.</param>
public sealed record LmdSlicing(string FileSha256, long DecompressedLength, long DocumentCount, IReadOnlyList<DataSpec> Slices);
