using Hivemind.Simulations.Scale;

namespace Hivemind.Simulations.Tests;

/// <summary>The relay model, counted by hand: six tiny volunteers (1000 B/s links, 100 ms latency, 896-byte downloads) behind a 2000 B/s coordinator.</summary>
public sealed class ScaleRelayTests
{
    private const int Precision = 9;
    private const double Bytes = 896;
    private const double CoordinatorMbps = 0.016; // 2000 B/s

    private static ScaleConfig Six(double relayFraction) =>
        TinyModel.Config(6) with { CoordinatorMbps = CoordinatorMbps, RelayFraction = relayFraction, RelayUploadShare = 0.5 };

    private static double FirstDownload(ScaleResult r) => r.Rounds[0].MeanTransferSeconds - Upload;

    // Uploads share the coordinator's 2000 B/s six ways either way: 896 / 333.3 + 0.1 s.
    private const double Upload = Bytes / (2000.0 / 6) + 0.1;

    [Fact]
    public void Without_relays_the_coordinator_sends_every_download()
    {
        var r = ScaleSimulation.Run(Six(0));
        Assert.Equal(6 * Bytes, r.CoordinatorEgressPerRound, Precision);
        Assert.Equal(Bytes / (2000.0 / 6) + 0.1, FirstDownload(r), Precision);
    }

    [Theory]
    // 2 relays lend 500 B/s each: supply 3000 B/s, 500 B/s per volunteer, the coordinator sends 6 × 896 × 2000/3000.
    [InlineData(2.0 / 6, 3000.0)]
    // 4 relays: supply 4000 B/s, 666.7 B/s each, the coordinator sends half of the bytes.
    [InlineData(4.0 / 6, 4000.0)]
    public void Relays_take_their_share_of_the_downloads(double fraction, double supply)
    {
        var r = ScaleSimulation.Run(Six(fraction));
        Assert.Equal(6 * Bytes * 2000 / supply, r.CoordinatorEgressPerRound, Precision);
        Assert.Equal(Bytes / (supply / 6) + 0.1, FirstDownload(r), Precision);
    }

    [Fact]
    public void Four_relays_among_six_halve_the_coordinators_egress()
    {
        var without = ScaleSimulation.Run(Six(0)).CoordinatorEgressPerRound;
        var with = ScaleSimulation.Run(Six(4.0 / 6)).CoordinatorEgressPerRound;
        Assert.True(with <= without / 2 + 1e-9, $"egress with 4 relays {with} B vs {without} B without");
    }

    [Fact]
    public void Each_chunk_still_leaves_the_coordinator_once()
    {
        // Relays lending far more than the coordinator's link: the coordinator still sends the version once.
        var r = ScaleSimulation.Run(Six(1) with { RelayUploadShare = 1, UploadMbps = Simulation.Distribution.Constant(8) });
        Assert.Equal(Bytes, r.CoordinatorEgressPerRound, Precision);
    }

    [Fact]
    public void With_an_unbounded_coordinator_link_relays_change_nothing()
    {
        var plain = ScaleSimulation.Run(TinyModel.Config(6));
        var relayed = ScaleSimulation.Run(TinyModel.Config(6) with { RelayFraction = 0.5 });
        Assert.Equal(plain.TotalSeconds, relayed.TotalSeconds, Precision);
        Assert.Equal(6 * Bytes, relayed.CoordinatorEgressPerRound, Precision);
    }
}
