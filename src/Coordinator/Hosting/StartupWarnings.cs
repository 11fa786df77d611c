using System.Net;
using Hivemind.Aggregation;
using Hivemind.Aggregation.Aggregators;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// Settings that leave a coordinator open to a hostile crowd, said loudly at start (log and stderr): a non-robust rule,
/// open admission, spot checks off, a store that is not durable, cleartext on an address other machines can reach. They are allowed (tests, demos, trusted pools) but never silent.
/// </summary>
public static class StartupWarnings
{
    private static readonly CoordinatorOptions Defaults = new();

    public static IReadOnlyList<string> For(CoordinatorOptions options, ListenSettings listen)
    {
        var warnings = new List<string>();
        if (IsMean(options.TrunkRule))
            warnings.Add($"--trunk-rule is '{options.TrunkRule}': the mean is not robust, so ONE volunteer can move every trunk step as far as it likes. " +
                         "Use a robust rule, e.g. --trunk-rule \"nnm(f=1) | trimmed-mean(f=1)\".");
        if (IsMean(options.ExpertRule))
            warnings.Add($"--expert-rule is '{options.ExpertRule}': the mean is not robust, so ONE holder of an expert can move it as far as it likes. " +
                         "Use a robust rule, e.g. --expert-rule median with --replication 3.");
        if (options.AdmissionToken.Length == 0)
            warnings.Add("admission is OPEN (no --admission-token): anyone who can reach this port may join, with as many fresh keys as they like. " +
                         "Set --admission-token and give it only to your volunteers.");
        if (options.SpotCheckProbability == 0 && options.SpotCheckProbationProbability == 0)
            warnings.Add("spot checks are OFF (--spot-check-probability 0 and --spot-check-probation-probability 0): no accepted update is ever recomputed, " +
                         "so a volunteer that sends a plausible update without doing the work (scaled, copied, trained on other data) is never caught. " +
                         $"Keep the defaults ({Text(Defaults.SpotCheckProbability)}, and {Text(Defaults.SpotCheckProbationProbability)} for keys on probation).");
        else if (options.SpotCheckProbability == 0)
            warnings.Add("--spot-check-probability is 0: keys that left probation are never recomputed again, so a key can build its reputation honestly " +
                         $"and cheat from then on. Keep the default ({Text(Defaults.SpotCheckProbability)}).");
        if (!options.Durable)
            warnings.Add("--durable is false: the store lives in memory and accepted updates are not synced to disk, so a crash or restart " +
                         "loses every round, lease and acknowledged update. It is for simulations and benchmarks; drop the flag on a real coordinator.");
        if (listen.TlsCertificate is null && !IsLoopback(listen.Host))
            warnings.Add($"listening on {listen.Host} WITHOUT TLS: session tokens and updates cross the network in clear text, so anyone on the path " +
                         "can read or hijack a session. Give --tls-certificate and --tls-key, or bind --host 127.0.0.1 behind a TLS proxy.");
        return warnings;
    }

    /// <summary>True when the spec's final aggregator is the plain mean (pre-aggregators do not make it robust).</summary>
    private static bool IsMean(string spec) => AggregationPipeline.Parse(spec).Aggregator is MeanAggregator;

    private static string Text(double p) => p.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static bool IsLoopback(string host) => IPAddress.IsLoopback(ServeSettings.BindAddress(host));
}
