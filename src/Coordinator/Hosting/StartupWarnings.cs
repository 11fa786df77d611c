using System.Net;
using Hivemind.Aggregation;
using Hivemind.Aggregation.Aggregators;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// Settings that leave a coordinator open to a hostile crowd, said loudly at start (log and stderr): a non-robust rule,
/// open admission, cleartext on an address other machines can reach. They are allowed (tests, demos, trusted pools) but never silent.
/// </summary>
public static class StartupWarnings
{
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
        if (listen.TlsCertificate is null && !IsLoopback(listen.Host))
            warnings.Add($"listening on {listen.Host} WITHOUT TLS: session tokens and updates cross the network in clear text, so anyone on the path " +
                         "can read or hijack a session. Give --tls-certificate and --tls-key, or bind --host 127.0.0.1 behind a TLS proxy.");
        return warnings;
    }

    /// <summary>True when the spec's final aggregator is the plain mean (pre-aggregators do not make it robust).</summary>
    private static bool IsMean(string spec) => AggregationPipeline.Parse(spec).Aggregator is MeanAggregator;

    private static bool IsLoopback(string host) => IPAddress.IsLoopback(ServeSettings.BindAddress(host));
}
