using System.CommandLine;
using System.Globalization;
using System.Text.Json;

namespace Hivemind.Data.Cli;

/// <summary>The <c>hivemind-corpus</c> commands; a thin shell over the corpus classes of Hivemind.Data.</summary>
public static class CorpusCli
{
    /// <summary>Exit code for bad input: the message says what to fix.</summary>
    public const int UsageError = 2;

    /// <summary>Exit code of <c>roundtrip</c> when a document does not survive decode(encode(x)).</summary>
    public const int RoundTripFailed = 1;

    /// <summary>Parses and runs <paramref name="args"/>, writing to the given writers; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("Corpora in The Pile's LMD format (.jsonl.zst of {\"text\", \"meta\": {\"pile_set_name\"}}).")
        {
            BuildCommand(output, error),
            InspectCommand(output, error),
            SplitCommand(output, error),
            TokenizeCommand(output, error),
            BaselineCommand(output, error),
            RoundTripCommand(output, error),
            MirrorCommand(output, error),
        };
        return root.Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
    }

    private static Command BuildCommand(TextWriter output, TextWriter error)
    {
        var components = new Option<string[]>("--component")
        {
            Description = "NAME=PATH[,PATH...]: files or folders (read recursively, sorted) of one component; repeat per component.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var result = new Option<string>("--out") { Description = "Archive to write (.jsonl.zst).", Required = true };
        var separator = new Option<string?>("--separator") { Description = "Split files into documents at this string (escapes \\n and \\t allowed), e.g. \"\\n%\\n\" for fortunes." };
        var splitAt = new Option<string[]>("--split-at")
        {
            Description = "NAME=SEPARATOR: a separator for one component only (overrides --separator), e.g. \"Fortunes=\\n%\\n\".",
            AllowMultipleArgumentsPerToken = false,
        };
        var maxChars = new Option<int>("--max-document-chars")
        {
            Description = "Cut longer documents at a paragraph or line end.",
            DefaultValueFactory = _ => CorpusBuildOptions.DefaultMaxDocumentChars,
        };
        var command = new Command("build", "Turn text files and folders into one LMD archive, one document a line, meta.pile_set_name naming the component.")
        {
            components, result, separator, splitAt, maxChars,
        };
        command.SetAction(parse => Guarded(error, () =>
        {
            var parsed = parse.GetValue(components)!.Select(CorpusComponent.Parse).ToList();
            foreach (string spec in parse.GetValue(splitAt) ?? [])
            {
                int eq = spec.IndexOf('=');
                int at = eq <= 0 ? -1 : parsed.FindIndex(c => c.Name == spec[..eq]);
                if (at < 0)
                {
                    throw new ArgumentException($"--split-at '{spec}' does not name a component given with --component (NAME=SEPARATOR, e.g. \"Fortunes=\\n%\\n\").");
                }
                parsed[at] = parsed[at] with { Separator = Unescape(spec[(eq + 1)..]) };
            }
            string? sep = parse.GetValue(separator) is { } s ? Unescape(s) : null;
            CorpusBuildReport report = CorpusBuilder.Build(parsed, parse.GetValue(result)!, new CorpusBuildOptions(sep, parse.GetValue(maxChars)), error.WriteLine);
            foreach (string skipped in report.Skipped) error.WriteLine($"skipped {skipped}");
            PrintStatistics(output, report.Statistics);
            output.WriteLine($"wrote {report.Path} ({new FileInfo(report.Path).Length} bytes, sha256 {CorpusInspector.Sha256(report.Path)}); skipped {report.Skipped.Count} files");
        }));
        return command;
    }

    private static Command InspectCommand(TextWriter output, TextWriter error)
    {
        var input = new Argument<string>("archive") { Description = "An LMD archive (.jsonl, .jsonl.zst or .jsonl.gz)." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("inspect", "Documents, bytes and components of an archive, with its SHA-256.") { input, json };
        command.SetAction(parse => Guarded(error, () =>
        {
            CorpusInspection inspection = CorpusInspector.Inspect(parse.GetValue(input)!);
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new
                {
                    inspection.Path,
                    inspection.Sha256,
                    Compression = inspection.Compression.ToString(),
                    inspection.StoredBytes,
                    inspection.DecompressedBytes,
                    inspection.Statistics.Documents,
                    inspection.Statistics.TextBytes,
                    Components = inspection.Statistics.Components.Select(c => new { c.Name, c.Documents, c.TextBytes }),
                }));
                return;
            }
            output.WriteLine($"{inspection.Path}: {inspection.Compression}, {inspection.StoredBytes} bytes stored, {inspection.DecompressedBytes} decompressed, sha256 {inspection.Sha256}");
            PrintStatistics(output, inspection.Statistics);
        }));
        return command;
    }

    private static Command SplitCommand(TextWriter output, TextWriter error)
    {
        var input = new Option<string>("--in") { Description = "Archive to split.", Required = true };
        var train = new Option<string>("--train") { Description = "Training archive to write.", Required = true };
        var heldOut = new Option<string>("--held-out") { Description = "Held-out archive to write.", Required = true };
        var fraction = new Option<double>("--held-out-fraction") { Description = "Share of documents held out, by SHA-256 of their text.", DefaultValueFactory = _ => 0.05 };
        var command = new Command("split", "Deterministic train/held-out split by document hash.") { input, train, heldOut, fraction };
        command.SetAction(parse => Guarded(error, () =>
        {
            var (trainStats, heldStats) = CorpusSplitter.Split(parse.GetValue(input)!, parse.GetValue(train)!, parse.GetValue(heldOut)!, parse.GetValue(fraction));
            output.WriteLine("train:");
            PrintStatistics(output, trainStats);
            output.WriteLine("held-out:");
            PrintStatistics(output, heldStats);
        }));
        return command;
    }

    private static Command TokenizeCommand(TextWriter output, TextWriter error)
    {
        var input = new Option<string>("--in") { Description = "Archive to tokenize.", Required = true };
        var prefix = new Option<string>("--out") { Description = "Path prefix: writes PREFIX.tokens and PREFIX.idx.", Required = true };
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = "Tokenizer: " + string.Join(", ", TextTokenizers.Names) + " (gpt2 is GPT-Neo's).",
            DefaultValueFactory = _ => Gpt2Tokenizer.TokenizerName,
        };
        var command = new Command("tokenize", "Pre-tokenize an archive into a memory-mapped token file and an index.") { input, prefix, tokenizer };
        command.SetAction(parse => Guarded(error, () =>
        {
            ITextTokenizer t = TextTokenizers.Get(parse.GetValue(tokenizer)!);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            TokenFileHeader h = TokenFileWriter.Write(parse.GetValue(input)!, parse.GetValue(prefix)!, t);
            double seconds = clock.Elapsed.TotalSeconds;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{h.Tokenizer}: {h.Documents} documents, {h.Tokens} tokens ({(double)h.TextBytes / Math.Max(1, h.Tokens - h.Documents):F2} bytes/token), {h.TextBytes} text bytes, {seconds:F1} s ({h.Tokens / Math.Max(seconds, 1e-9):F0} tokens/s); tokens sha256 {h.TokensSha256}"));
        }));
        return command;
    }

    private static Command MirrorCommand(TextWriter output, TextWriter error)
    {
        var data = new Option<string>("--data") { Description = "Corpus folder, as the coordinator's --data (train.tokens/.idx, held-out.tokens/.idx).", Required = true };
        var folder = new Option<string>("--out") { Description = "Folder to write SHA256.tokens files into; serve it over http(s) or share it, and give it to volunteers as --data-mirror.", Required = true };
        var command = new Command("mirror", "Write the training slices a coordinator serves with --data, one file per slice named by its SHA-256 (what --data-mirror serves).") { data, folder };
        command.SetAction(parse => Guarded(error, () =>
        {
            using TokenCorpus corpus = TokenCorpus.Open(parse.GetValue(data)!);
            corpus.WriteMirror(parse.GetValue(folder)!);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{corpus.Slices.Count} slices of {TokenCorpus.DefaultSliceTokens} {corpus.Tokenizer} tokens ({corpus.Train.Length} in all) written to {parse.GetValue(folder)}"));
        }));
        return command;
    }

    private static Command RoundTripCommand(TextWriter output, TextWriter error)
    {
        var input = new Argument<string>("archive") { Description = "An LMD archive." };
        var tokenizer = new Option<string>("--tokenizer")
        {
            Description = "Tokenizer: " + string.Join(", ", TextTokenizers.Names) + ".",
            DefaultValueFactory = _ => Gpt2Tokenizer.TokenizerName,
        };
        var command = new Command("roundtrip", "Check decode(encode(text)) == text on every document, and time the encoding (exit 1 on a mismatch).") { input, tokenizer };
        command.SetAction(parse =>
        {
            long mismatches = 0;
            int code = Guarded(error, () =>
            {
                TokenizerRoundTripReport r = TokenizerRoundTrip.Check(parse.GetValue(input)!, TextTokenizers.Get(parse.GetValue(tokenizer)!));
                foreach (string example in r.Examples) error.WriteLine($"mismatch: {example}");
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Tokenizer}: {r.Documents} documents, {r.TextBytes} bytes, {r.Tokens} tokens; {r.Mismatches} did not round-trip; encoding {r.EncodeTime.TotalSeconds:F1} s on one thread = {r.TokensPerSecond:F0} tokens/s"));
                mismatches = r.Mismatches;
            });
            return code == 0 && mismatches > 0 ? RoundTripFailed : code;
        });
        return command;
    }

    private static Command BaselineCommand(TextWriter output, TextWriter error)
    {
        var input = new Argument<string>("archive") { Description = "Held-out LMD archive." };
        var command = new Command("baseline", "Bits per byte that zstd -19 achieves on the archive's text, per component and overall.") { input };
        command.SetAction(parse => Guarded(error, () =>
        {
            output.Write(BitsPerByteTable.Markdown([CompressorBaseline.Measure(parse.GetValue(input)!)]));
        }));
        return command;
    }

    private static string Unescape(string value) =>
        value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\t", "\t", StringComparison.Ordinal);

    private static void PrintStatistics(TextWriter output, CorpusStatistics stats)
    {
        foreach (ComponentStatistics c in stats.Components)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {c.Name,-24} {c.Documents,9} documents {c.TextBytes,13} bytes"));
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {"total",-24} {stats.Documents,9} documents {stats.TextBytes,13} bytes"));
    }

    private static int Guarded(TextWriter error, Action body)
    {
        try
        {
            body();
            return 0;
        }
        catch (Exception e) when (e is ArgumentException or LmdFormatException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {e.Message}");
            return UsageError;
        }
    }
}
