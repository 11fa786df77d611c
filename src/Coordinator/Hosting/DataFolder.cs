using Hivemind.Data;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Hosting;

/// <summary>Where <c>serve --data</c> and <c>demo --data</c> find a corpus: the name <c>mini-pile</c> or a folder, refused with the command that builds it when missing.</summary>
public static class DataFolder
{
    /// <summary>The corpus the README's real-text demo names.</summary>
    public const string MiniPile = "mini-pile";

    /// <summary>Where scripts/build-mini-pile.sh writes by default (relative to the repository root).</summary>
    public static readonly string MiniPileFolder = Path.Combine("artifacts", MiniPile);

    /// <summary>The corpus folder for <paramref name="data"/> (empty: none), checked to hold both token files.</summary>
    public static string? Resolve(string data)
    {
        if (string.IsNullOrEmpty(data)) return null;
        string folder = data == MiniPile ? MiniPileFolder : data;
        string full = Path.GetFullPath(folder);
        foreach (string name in new[] { TokenCorpus.TrainName, TokenCorpus.HeldOutName })
        {
            string idx = TokenFileFormat.IndexPath(Path.Combine(full, name));
            if (!File.Exists(idx))
            {
                throw new UsageException(data == MiniPile
                    ? $"the mini-pile is not built ({idx} is missing); build it from Debian packages with `bash scripts/build-mini-pile.sh` (about 4 minutes; it apt-get installs nine packages) from the repository root, or pass --data FOLDER"
                    : $"--data '{data}' holds no {name} token file ({idx} is missing); give a folder written by scripts/build-mini-pile.sh or the output of `hivemind-corpus tokenize` (written as FOLDER/{name}), or --data {MiniPile}");
            }
        }
        return full;
    }
}
