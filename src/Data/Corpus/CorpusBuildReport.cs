namespace Hivemind.Data;

/// <summary>What a build wrote: the archive, its statistics, and the files skipped with the reason.</summary>
public sealed record CorpusBuildReport(string Path, CorpusStatistics Statistics, IReadOnlyList<string> Skipped);
