using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

public sealed class TimingArithmeticTests
{
    [Theory]
    [InlineData(TensorCodec.Fp32, 4000)]
    [InlineData(TensorCodec.Fp16, 2000)]
    // 1000 bytes + ceil(1000 / 256) = 4 scales of 4 bytes: the real codec's blocks.
    [InlineData(TensorCodec.Int8, 1016)]
    public void Codec_bytes_for_1000_elements(TensorCodec codec, double bytes) =>
        Assert.Equal(bytes, CodecSize.Bytes(codec, 1000));

    [Theory]
    [InlineData(TensorCodec.Fp32)]
    [InlineData(TensorCodec.Fp16)]
    [InlineData(TensorCodec.Int8)]
    public void Codec_bytes_are_what_the_real_codec_encodes(TensorCodec codec)
    {
        const int Elements = 3000;
        var tensor = new Hivemind.Protocol.Tensors.NamedTensor("w", [Elements], new float[Elements]);
        long header = Hivemind.Protocol.Tensors.TensorCodec.EncodedLength([tensor], CodecSize.Payload(codec)) - (long)CodecSize.Bytes(codec, Elements);

        Assert.Equal(Hivemind.Protocol.Tensors.TensorCodec.Encode([tensor], CodecSize.Payload(codec)).Length, header + (long)CodecSize.Bytes(codec, Elements));
        Assert.True(header < 64, $"header {header} bytes");
    }

    [Theory]
    [InlineData(TensorCodec.Topk4, 0.03)]
    [InlineData(TensorCodec.Topk2, 0.01)]
    public void Top_k_bytes_are_what_the_real_codec_encodes_at_the_density(TensorCodec codec, double density)
    {
        const int Elements = 3000;
        var values = Enumerable.Range(0, Elements).Select(i => (float)Math.Sin(i)).ToArray();
        var tensor = new Hivemind.Protocol.Tensors.NamedTensor("w", [Elements], values);
        var settings = CodecSize.Settings(codec, density);
        long header = Hivemind.Protocol.Tensors.TensorCodec.EncodedLength([tensor], settings) - (long)CodecSize.Bytes(codec, Elements, density);

        Assert.Equal(Hivemind.Protocol.Tensors.TensorCodec.Encode([tensor], settings).Length, header + (long)CodecSize.Bytes(codec, Elements, density));
        Assert.Equal(Hivemind.Protocol.Tensors.CodecSettings.FromDensity(CodecSize.Payload(codec), density).KeptPerBlock, settings.KeptPerBlock);
        Assert.True(CodecSize.Bytes(codec, Elements, density) < CodecSize.Bytes(TensorCodec.Int8, Elements) / 4);
    }

    [Fact]
    public void Top_k_downloads_are_steps_since_the_held_version_and_fp32_for_newcomers_or_long_absences()
    {
        var config = TinyModel.Config(4) with { Download = TensorCodec.Topk4, DownloadDensity = 0.12, MaxDownloadSteps = 3 };
        double full = CodecSize.Bytes(TensorCodec.Fp32, config.ShardElements) / CodecSize.FullDownloadRatio; // sent compressed (lossless)
        double step = CodecSize.Bytes(TensorCodec.Topk4, config.ShardElements, 0.12);

        Assert.Equal(full, config.DownloadBytes);
        Assert.Equal(full, config.DownloadBytesFor(null));
        Assert.Equal(step, config.DownloadBytesFor(1));
        Assert.Equal(3 * step, config.DownloadBytesFor(3));
        Assert.Equal(full, config.DownloadBytesFor(4));
        Assert.Equal(CodecSize.Bytes(TensorCodec.Fp32, config.ShardElements), (config with { Download = TensorCodec.Fp32 }).DownloadBytesFor(1)); // the uncompressed baseline
    }

    [Fact]
    public void Newcomers_rebuild_version_0_from_the_seed_and_take_the_steps_since_only_when_they_are_fewer_bytes_than_the_full_shard()
    {
        var config = TinyModel.Config(4) with { Download = TensorCodec.Topk4, DownloadDensity = 0.25, MaxDownloadSteps = 16 };
        double full = config.DownloadBytes;
        double step = CodecSize.Bytes(TensorCodec.Topk4, config.ShardElements, 0.25);
        int fewer = (int)Math.Ceiling(full / step) - 1; // most steps still fewer bytes than the full shard

        Assert.Equal(0, config.NewcomerDownloadBytes(0)); // θ_0 itself
        Assert.Equal(2 * step, config.NewcomerDownloadBytes(2));
        Assert.InRange(fewer, 2, 15);
        Assert.Equal(fewer * step, config.NewcomerDownloadBytes(fewer));
        Assert.Equal(full, config.NewcomerDownloadBytes(fewer + 1)); // the coordinator's rule (DownloadChoice): the steps would be more bytes
        Assert.Equal(full, config.DownloadBytesFor(fewer + 1));
        Assert.Equal(full, (config with { SeedDownloads = false }).NewcomerDownloadBytes(2));
        Assert.Equal(full, config.NewcomerDownloadBytes(17)); // steps no longer kept
        // The uncompressed DiLoCo baseline (fp32 download codec) is unchanged: full fp32 every time.
        Assert.Equal(CodecSize.Bytes(TensorCodec.Fp32, config.ShardElements), (config with { Download = TensorCodec.Fp32 }).NewcomerDownloadBytes(0));
    }

    [Fact]
    public void Newcomers_full_downloads_are_sent_compressed_by_the_measured_ratio_and_other_downloads_as_they_are()
    {
        var config = TinyModel.Config(4) with { Download = TensorCodec.Topk4, DownloadDensity = 0.12 };
        double fp32 = CodecSize.Bytes(TensorCodec.Fp32, config.ShardElements);
        Assert.Equal(fp32 / CodecSize.FullDownloadRatio, config.DownloadBytes);
        Assert.Equal(fp32, (config with { FullDownloadCompression = 1 }).DownloadBytes);
        Assert.Equal(fp32, (config with { Download = TensorCodec.Fp32 }).DownloadBytes);
        Assert.Equal(CodecSize.Bytes(TensorCodec.Int8, config.ShardElements), (config with { Download = TensorCodec.Int8 }).DownloadBytes);
    }

    [Fact]
    public void Transfer_is_latency_plus_bits_over_rate()
    {
        // 1 MB = 8 Mb at 8 Mb/s = 1 s, plus 50 ms.
        Assert.Equal(1.05, TransferTime.Seconds(1e6, 8, 0.05), 12);
    }

    [Fact]
    public void Aggregation_cost_is_linear_in_inputs_for_the_mean_and_quadratic_for_krum()
    {
        // 0.3 ns × 1e9 elements × 10 inputs = 3 s, over 4 cores = 0.75 s.
        Assert.Equal(3.0, AggregationCost.Estimates.Seconds(AggregationRule.Mean, 1_000_000_000, 10, 1), 12);
        Assert.Equal(0.75, AggregationCost.Estimates.Seconds(AggregationRule.Mean, 1_000_000_000, 10, 4), 12);
        // 0.6 ns × 1e6 elements × 10² pairs = 0.06 s.
        Assert.Equal(0.06, AggregationCost.Estimates.Seconds(AggregationRule.Krum, 1_000_000, 10, 1), 12);
        Assert.Equal(0, AggregationCost.Estimates.Seconds(AggregationRule.Median, 1_000_000, 0, 1));
    }

    [Fact]
    public void Sustained_flops_are_peak_times_utilization()
    {
        var a100 = new DeviceTable()["a100"];
        Assert.Equal(312e12 * 0.40, a100.SustainedFlops(Precision.Bf16), 1);
        Assert.Equal(19.5e12 * 0.40, a100.SustainedFlops(Precision.Fp32), 1);
    }

    [Fact]
    public void Unknown_device_error_lists_the_known_ones()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => new DeviceTable()["a10"]);
        Assert.Contains("'a10'", e.Message);
        Assert.Contains("rtx3090", e.Message);
    }

    [Fact]
    public void A_link_sweep_keeps_an_asymmetric_upload_in_proportion()
    {
        var asymmetric = TinyModel.Config(4) with
        {
            DownloadMbps = Simulations.Simulation.Distribution.LogNormal(100, 0.5),
            UploadMbps = Simulations.Simulation.Distribution.LogNormal(20, 0.5),
        };

        var swept = Running.ScenarioRunner.Apply(asymmetric, new Running.SweepPoint(null, 1000, null, null, null), new DeviceTable());

        Assert.Equal(1000, swept.DownloadMbps.Median, 9);
        Assert.Equal(200, swept.UploadMbps.Median, 9);
    }
}
