namespace Hivemind.Data;

/// <summary>What an LMD archive holds: its content hash, compression, sizes and per-component statistics.</summary>
/// <param name="Path">The archive.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the file as stored: the archive's name in work units.</param>
/// <param name="Compression">How it is stored.</param>
/// <param name="StoredBytes">File size.</param>
/// <param name="DecompressedBytes">JSON lines, newlines included.</param>
/// <param name="Statistics">Documents and text bytes per component.</param>
public sealed record CorpusInspection(string Path, string Sha256, LmdCompression Compression, long StoredBytes, long DecompressedBytes, CorpusStatistics Statistics);
