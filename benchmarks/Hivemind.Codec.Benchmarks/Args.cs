using System.Globalization;

namespace Hivemind.Codec.Benchmarks;

/// <summary>"--name value" pairs and bare "--flag"s.</summary>
internal sealed class Args(Dictionary<string, string> values)
{
    public static Args Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'; options look like --name value.");
            bool flag = i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal);
            values[args[i]] = flag ? "true" : args[++i];
        }
        return new Args(values);
    }

    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);

    public int Get(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    /// <summary>The load averages (other work on the machine skews absolute numbers; ratios less so).</summary>
    public static string Load() =>
        File.Exists("/proc/loadavg") ? "load average " + string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "load unknown";
}
