using Hivemind.Simulations.Running;
using Hivemind.Simulations.Scenarios;

namespace Hivemind.Simulations.Reports;

/// <summary>A sweep axis as the reports see it: its column name, its value in a row, and whether it is numeric.</summary>
public sealed record SweepAxis(string Column, bool Numeric, Func<SweepRow, double> Value, Func<SweepRow, string> Text)
{
    /// <summary>Volunteer count.</summary>
    public static SweepAxis Volunteers { get; } = new("volunteers", true, r => r.Config.Volunteers, r => Num.N(r.Config.Volunteers));

    /// <summary>Link speed.</summary>
    public static SweepAxis Bandwidth { get; } = new("link Mb/s (median)", true, r => r.Point.BandwidthMbps ?? double.NaN, r => Num.G(r.Point.BandwidthMbps ?? double.NaN));

    /// <summary>Inner steps.</summary>
    public static SweepAxis InnerSteps { get; } = new("H", true, r => r.Config.InnerSteps, r => Num.N(r.Config.InnerSteps));

    /// <summary>Codec.</summary>
    public static SweepAxis Codec { get; } = new("codec", false, _ => double.NaN, r => KebabEnumConverter.NameOf(r.Config.Upload));

    /// <summary>Device.</summary>
    public static SweepAxis Device { get; } = new("device", false, _ => double.NaN, r => r.Point.Device ?? "mix");

    /// <summary>The axes <paramref name="sweep"/> varies, in report column order.</summary>
    public static IReadOnlyList<SweepAxis> Swept(SweepSection? sweep)
    {
        var axes = new List<SweepAxis>();
        if (sweep is null)
        {
            return axes;
        }

        if (sweep.Devices.Count > 0) axes.Add(Device);
        if (sweep.Volunteers.Count > 0) axes.Add(Volunteers);
        if (sweep.BandwidthMbps.Count > 0) axes.Add(Bandwidth);
        if (sweep.InnerSteps.Count > 0) axes.Add(InnerSteps);
        if (sweep.Codec.Count > 0) axes.Add(Codec);
        return axes;
    }
}
