using System.Net;
using Hivemind.Aggregation;
using Hivemind.Training;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// What <c>serve</c> runs, checked before anything is opened or written: every bad value becomes a
/// <see cref="UsageException"/> naming the flag, the value and the fix, so a typo never leaves a half-created store behind.
/// </summary>
public sealed record ServeSettings(CoordinatorOptions Options, ListenSettings Listen)
{
    /// <summary>Highest TCP port.</summary>
    public const int MaxPort = 65535;

    /// <summary>Checks everything that can be checked without side effects.</summary>
    public static ServeSettings Check(CoordinatorOptions options, ListenSettings listen)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
        var model = CheckPreset(options.Preset);
        if (options.SequenceLength > model.ContextLength)
            throw new UsageException($"--sequence-length {options.SequenceLength} exceeds the '{model.Name}' model's context of {model.ContextLength}; use --sequence-length {model.ContextLength} or less, or a larger --preset.");
        var trunk = ParseRule("--trunk-rule", options.TrunkRule);
        ParseRule("--expert-rule", options.ExpertRule);
        try
        {
            trunk.Aggregator.EnsureWithinBreakdown(options.Quorum);
        }
        catch (AggregationConfigException e)
        {
            throw new UsageException($"--trunk-rule '{options.TrunkRule}' cannot aggregate the --quorum {options.Quorum} updates of a round: {e.Message.TrimEnd('.')}; raise --quorum or lower the rule's f.", e);
        }
        CheckDataDirectory(options.DataDirectory);
        CheckListen(listen);
        // Real text (issue 13): `--data mini-pile` names the script's folder; a folder without token files is refused here, before the store opens.
        if (options.Data.Length > 0) options = options with { Data = DataFolder.Resolve(options.Data)! };
        return new ServeSettings(options, listen);
    }

    /// <summary>The address Kestrel binds: an IP literal, or <c>localhost</c> for the IPv4 loopback.</summary>
    public static IPAddress BindAddress(string host)
    {
        if (host == "localhost") return IPAddress.Loopback;
        if (IPAddress.TryParse(host, out var address)) return address;
        throw new UsageException($"--host '{host}' is not an IP address; use 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface), :: or one interface's address.");
    }

    private static ModelConfig CheckPreset(string preset)
    {
        if (!ModelConfig.PresetNames.Contains(preset))
            throw new UsageException($"--preset '{preset}' is not a model preset; use one of {string.Join(", ", ModelConfig.PresetNames)}.");
        return ModelConfig.Preset(preset);
    }

    /// <summary>Parses an aggregation spec given by <paramref name="flag"/>; a bad one becomes a one-line <see cref="UsageException"/>.</summary>
    public static AggregationPipeline ParseRule(string flag, string spec)
    {
        try
        {
            return AggregationPipeline.Parse(spec);
        }
        catch (Exception e) when (e is SpecParseException or AggregationConfigException or ArgumentException)
        {
            // The parser's message draws a caret under the column on extra lines; the first line names the problem and the column.
            string problem = e.Message.Split('\n')[0].TrimEnd('.');
            throw new UsageException($"{flag} '{spec}': {problem}. Write a rule like median or \"nnm(f=1) | trimmed-mean(f=1)\" (README: Robust aggregation).", e);
        }
    }

    private static void CheckDataDirectory(string folder)
    {
        if (string.IsNullOrWhiteSpace(folder))
            throw new UsageException("--data-directory is empty; give the folder for the coordinator's state, e.g. ./hivemind-data.");
        if (File.Exists(folder))
            throw new UsageException($"--data-directory '{folder}' is a file; give a folder (it is created if missing).");
    }

    private static void CheckListen(ListenSettings listen)
    {
        BindAddress(listen.Host);
        if (listen.Port is < 0 or > MaxPort)
            throw new UsageException($"--port {listen.Port} is not a TCP port; use 1 to {MaxPort}, or 0 for any free port.");
        if (listen.TlsKey is not null && listen.TlsCertificate is null)
            throw new UsageException("--tls-key was given without --tls-certificate; give both (PEM), or only --tls-certificate for a PKCS#12 file.");
        if (listen.TlsCertificate is not null && !File.Exists(listen.TlsCertificate))
            throw new UsageException($"--tls-certificate '{listen.TlsCertificate}' does not exist; give a PEM or PKCS#12 certificate file.");
        if (listen.TlsKey is not null && !File.Exists(listen.TlsKey))
            throw new UsageException($"--tls-key '{listen.TlsKey}' does not exist; give the PEM private key of --tls-certificate.");
    }
}
