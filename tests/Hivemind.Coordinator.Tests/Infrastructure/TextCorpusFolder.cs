using System.Text;
using Hivemind.Data;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>A small real-text corpus folder (train and held-out token files, bytes tokenizer) as scripts/build-mini-pile.sh lays one out.</summary>
public static class TextCorpusFolder
{
    private const int DocumentBytes = 4096;

    private static readonly string[] Words =
        ["the", "model", "is", "trained", "on", "text", "from", "many", "volunteers", "who", "lend", "their", "computers", "and", "each",
         "one", "holds", "a", "shard", "of", "experts", "while", "coordinator", "merges", "updates", "robustly", "every", "round"];

    /// <summary>Writes about <paramref name="trainBytes"/> of training text and <paramref name="heldOutBytes"/> of held-out text into <paramref name="folder"/>.</summary>
    /// <param name="tokenizer">Bytes (default), or e.g. GPT-2's BPE, the mini-pile's tokenizer (GPT-Neo's vocabulary).</param>
    public static string Create(string folder, long trainBytes, long heldOutBytes, int seed = 1, ITextTokenizer? tokenizer = null)
    {
        Directory.CreateDirectory(folder);
        var random = new Random(seed);
        Write(folder, TokenCorpus.TrainName, trainBytes, random, tokenizer ?? ByteTokenizer.Instance);
        Write(folder, TokenCorpus.HeldOutName, heldOutBytes, random, tokenizer ?? ByteTokenizer.Instance);
        return folder;
    }

    private static void Write(string folder, string name, long bytes, Random random, ITextTokenizer tokenizer)
    {
        string archive = Path.Combine(folder, name + ".jsonl.zst");
        using (var writer = new LmdWriter(archive))
        {
            for (long written = 0; written < bytes; written += DocumentBytes)
            {
                var text = new StringBuilder(DocumentBytes + 16);
                while (text.Length < DocumentBytes) text.Append(Words[random.Next(Words.Length)]).Append(random.Next(8) == 0 ? ".\n" : " ");
                writer.Write(text.ToString(), random.Next(2) == 0 ? "Prose" : "Notes");
            }
        }
        TokenFileWriter.Write(archive, Path.Combine(folder, name), tokenizer);
    }
}
