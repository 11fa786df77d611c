using Hivemind.Data;

namespace Hivemind.Codec.Benchmarks;

/// <summary>
/// Real text for the quality runs (<c>--data FOLDER</c>): the corpus folder checked once before any run, and each unit's token slice
/// written where a volunteer would keep its verified copy (the engine serves slices by SHA-256, as <c>--data-mirror</c> does).
/// </summary>
internal static class QualityData
{
    /// <summary>
    /// The full path of corpus folder <paramref name="folder"/> and its name for the CSV, after opening it as the engine will (so a missing
    /// or corrupt folder fails before hours of training, with the value and the fix in the message).
    /// </summary>
    public static (string Folder, string Name, string Tokenizer, long TrainTokens) Resolve(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        string full = Path.GetFullPath(folder);
        try
        {
            using var corpus = TokenCorpus.Open(full);
            return (full, Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar)), corpus.Tokenizer, corpus.Train.Length);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException)
        {
            throw new ArgumentException($"--data '{folder}' cannot be trained on: {e.Message.TrimEnd('.')}. Give a folder holding {TokenCorpus.TrainName} and " +
                $"{TokenCorpus.HeldOutName} token files written by `hivemind-corpus tokenize` (e.g. --tokenizer bytes), or leave --data out for the synthetic corpus.", e);
        }
    }

    /// <summary>Maps a slice's SHA-256 to a file under <paramref name="cache"/>, written from <paramref name="corpus"/> on first use.</summary>
    public static Func<string, string> SliceFiles(TokenCorpus corpus, string cache)
    {
        Directory.CreateDirectory(cache);
        return sha256 =>
        {
            if (!corpus.TryFind(sha256, out var slice)) throw new InvalidOperationException($"a unit names slice {sha256}, which the corpus at {corpus.Folder} does not hold.");
            string path = Path.Combine(cache, slice.FileName);
            if (!File.Exists(path))
            {
                var bytes = new byte[slice.ByteLength];
                corpus.Read(slice, 0, bytes);
                File.WriteAllBytes(path, bytes);
            }
            return path;
        };
    }
}
