using System.Globalization;

namespace Hivemind.Codec.Benchmarks;

/// <summary>One quality run as written to (and read back from) the CSV that the frontier command merges across inner-step counts.</summary>
internal sealed record RunRow(string Setting, long Seed, int InnerSteps, int Rounds, int Volunteers, double FinalLoss, long BytesUp, long BytesDown,
    long BytesFirstDownloads, long Tokens, long ModelParameters, long TokensPerStep, string Data = "")
{
    /// <summary>The last column, data, names the real-text corpus folder (empty: synthetic); CSVs written before it have no such column.</summary>
    public const string Header = "setting,seed,inner_steps,rounds,volunteers,held_out_loss,bytes_up,bytes_down,bytes_first_downloads,tokens,parameters,tokens_per_step,data";

    private const int NumberFields = 11;

    /// <summary>Per-step data-parallel fp32: 2 × parameters × 4 bytes per step per worker, per trained token.</summary>
    public double DpPerToken => 2.0 * ModelParameters * 4 / TokensPerStep;

    public double UpPerToken => (double)BytesUp / Tokens;

    public double DownPerToken => (double)BytesDown / Tokens;

    /// <summary>
    /// Down bytes per token of the units after each volunteer's first (whose download is the full shard, a one-time cost that a long run
    /// amortises): the steady state. Dividing by all tokens instead would count the first units' tokens with no download at all, which
    /// flatters short runs (by R / (R − 1) on the down side in an R-round run).
    /// </summary>
    public double SteadyDownPerToken => (double)(BytesDown - BytesFirstDownloads) / (Tokens - (long)Volunteers * InnerSteps * TokensPerStep);

    public double Reduction => DpPerToken / (UpPerToken + DownPerToken);

    public double SteadyReduction => DpPerToken / (UpPerToken + SteadyDownPerToken);

    /// <summary>The setting's name, with the corpus when it is real text (rows of different corpora never pair).</summary>
    public string Label => Data.Length == 0 ? Setting : $"{Setting} [{Data}]";

    public static RunRow From(QualityResult r, int rounds, int volunteers, string data = "") =>
        new(r.Setting.Name, r.Seed, r.InnerSteps, rounds, volunteers, r.FinalLoss, r.BytesUp, r.BytesDown, r.BytesFirstDownloads, r.Tokens, r.ModelParameters, r.TokensPerStep, data);

    /// <summary>The setting's name is quoted (names hold commas); numbers are invariant.</summary>
    public string ToCsv() => string.Join(',', $"\"{Setting}\"", Seed, InnerSteps, Rounds, Volunteers, FinalLoss.ToString("R", CultureInfo.InvariantCulture),
        BytesUp, BytesDown, BytesFirstDownloads, Tokens, ModelParameters, TokensPerStep, Data);

    public static RunRow Parse(string line, string where)
    {
        int close = line.StartsWith('"') ? line.IndexOf('"', 1) : -1;
        var fields = close < 0 ? [] : line[(close + 2)..].Split(',');
        if (close < 0 || line.Length <= close + 1 || line[close + 1] != ',' || fields.Length is not (NumberFields or NumberFields + 1))
            throw new FormatException($"{where}: '{line}' is not a quality row ({Header}, setting quoted); write it with quality --csv.");
        var c = CultureInfo.InvariantCulture;
        try
        {
            return new RunRow(line[1..close], long.Parse(fields[0], c), int.Parse(fields[1], c), int.Parse(fields[2], c), int.Parse(fields[3], c),
                double.Parse(fields[4], c), long.Parse(fields[5], c), long.Parse(fields[6], c), long.Parse(fields[7], c), long.Parse(fields[8], c),
                long.Parse(fields[9], c), long.Parse(fields[10], c), fields.Length > NumberFields ? fields[NumberFields] : "");
        }
        catch (FormatException e)
        {
            throw new FormatException($"{where}: '{line}' has a field that is not a number ({e.Message}); write it with quality --csv.", e);
        }
    }
}
