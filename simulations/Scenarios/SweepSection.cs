using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>"sweep": axes whose cartesian product is simulated; an empty axis keeps the scenario's value.</summary>
public sealed record SweepSection
{
    /// <summary>Volunteer counts.</summary>
    public List<int> Volunteers { get; init; } = [];

    /// <summary>Link speeds in Mb/s, both directions: the centre (median for lognormal) of the volunteers' link distributions, spread kept.</summary>
    public List<double> BandwidthMbps { get; init; } = [];

    /// <summary>Inner steps H.</summary>
    public List<int> InnerSteps { get; init; } = [];

    /// <summary>Upload codecs (the coordinator sends parameters in fp32 whatever the upload codec).</summary>
    public List<TensorCodec> Codec { get; init; } = [];

    /// <summary>Devices (a homogeneous pool of each).</summary>
    public List<string> Devices { get; init; } = [];
}
