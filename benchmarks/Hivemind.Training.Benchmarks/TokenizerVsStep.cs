using System.Diagnostics;
using System.Globalization;
using Hivemind.Data;

namespace Hivemind.Training.Benchmarks;

/// <summary>
/// GPT-2 tokenization throughput (one thread) against the tokens per second a training step consumes, interleaved
/// in rounds so the machine's load hits both alike: tokenizing must never be what a volunteer waits for.
/// </summary>
internal static class TokenizerVsStep
{
    private const long SampleBytes = 4L << 20;

    public static void Run(string archive, string preset, int batch, int seq, int rounds, int warmup, int steps)
    {
        var texts = Sample(archive);
        var gpt2 = ModelConfig.Preset(preset, Gpt2Tokenizer.Instance);
        var bytes = ModelConfig.Preset(preset);
        var encode = new List<double>();
        var stepGpt2 = new List<double>();
        var stepBytes = new List<double>();
        long tokens = 0, textBytes = texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t));
        var ids = new List<int>();
        for (int r = 0; r < rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            tokens = 0;
            foreach (string text in texts)
            {
                ids.Clear();
                Gpt2Tokenizer.Instance.Encode(text, ids);
                tokens += ids.Count;
            }
            encode.Add(tokens / clock.Elapsed.TotalSeconds);
            stepGpt2.Add(batch * seq / StepTimer.Median(StepTimer.StepSeconds(gpt2, batch, seq, warmup, steps)));
            stepBytes.Add(batch * seq / StepTimer.Median(StepTimer.StepSeconds(bytes, batch, seq, warmup, steps)));
        }
        var inv = CultureInfo.InvariantCulture;
        double e = StepTimer.Median(encode), g = StepTimer.Median(stepGpt2), b = StepTimer.Median(stepBytes);
        Console.WriteLine(string.Format(inv, "gpt2 encode: {0} documents, {1} bytes, {2} tokens; median {3:F0} tokens/s on one thread (rounds: {4})",
            texts.Count, textBytes, tokens, e, string.Join(", ", encode.Select(x => x.ToString("F0", inv)))));
        Console.WriteLine(string.Format(inv, "{0} step, GPT-2 vocabulary ({1:F1}M parameters): median {2:F0} tokens/s; tokenizer / step = {3:F0}x",
            gpt2.Name, gpt2.TotalParameters / 1e6, g, e / g));
        Console.WriteLine(string.Format(inv, "{0} step, byte vocabulary ({1:F1}M parameters): median {2:F0} tokens/s; tokenizer / step = {3:F0}x",
            bytes.Name, bytes.TotalParameters / 1e6, b, e / b));
    }

    // The archive's first documents up to a few MB, held in memory so only encoding is timed.
    private static List<string> Sample(string archive)
    {
        var texts = new List<string>();
        long bytes = 0;
        using var reader = new LmdReader(archive);
        foreach (LmdDocument doc in reader.Documents())
        {
            texts.Add(doc.Text);
            bytes += doc.Text.Length;
            if (bytes >= SampleBytes) break;
        }
        return texts;
    }
}
