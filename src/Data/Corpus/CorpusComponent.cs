namespace Hivemind.Data;

/// <summary>One component of a corpus to build: its name (meta.pile_set_name) and the files or folders it is read from.</summary>
/// <param name="Name">Component name, as The Pile names them (e.g. "FOLDOC", "Python stdlib").</param>
/// <param name="Paths">Files, or folders read recursively in ordinal order of their relative paths.</param>
/// <param name="Separator">When set, overrides <see cref="CorpusBuildOptions.Separator"/> for this component's files.</param>
public sealed record CorpusComponent(string Name, IReadOnlyList<string> Paths, string? Separator = null)
{
    /// <summary>Parses NAME=PATH[,PATH...], the command line's form.</summary>
    public static CorpusComponent Parse(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        int eq = spec.IndexOf('=');
        if (eq <= 0 || eq == spec.Length - 1)
        {
            throw new ArgumentException($"--component '{spec}' is not NAME=PATH[,PATH...]; e.g. --component \"FOLDOC=staging/foldoc\".");
        }
        return new CorpusComponent(spec[..eq].Trim(), spec[(eq + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
