using Hivemind.Simulations.Calibration;
using Hivemind.Simulations.Scenarios;
using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Tests;

public sealed class CalibrationFileTests
{
    private const string Costs = """
        {
          "source": "hand-made",
          "rules": {
            "mean": { "nanosecondsPerElementInput": 2, "inputExponent": 1, "spec": "mean" },
            "median": { "nanosecondsPerElementInput": 3, "inputExponent": 1 },
            "trimmed-mean": { "nanosecondsPerElementInput": 3, "inputExponent": 1 },
            "krum": { "nanosecondsPerElementInput": 0.5, "inputExponent": 2 },
            "geometric-median": { "nanosecondsPerElementInput": 4, "inputExponent": 1 },
            "centered-clipping": { "nanosecondsPerElementInput": 1, "inputExponent": 1 },
          },
        }
        """;

    [Fact]
    public void Aggregation_seconds_follow_the_file_constants()
    {
        var costs = AggregationCosts.Parse(Costs, "test");

        // mean: 2 ns × 1000 elements × 4 inputs / 2 cores = 4000 ns; krum: 0.5 ns × 1000 × 4² / 2 = 4000 ns.
        Assert.Equal(4e-6, costs.Seconds(AggregationRule.Mean, 1000, 4, 2), 12);
        Assert.Equal(4e-6, costs.Seconds(AggregationRule.Krum, 1000, 4, 2), 12);
        Assert.Equal(0, costs.Seconds(AggregationRule.Median, 1000, 0, 2));
        Assert.Equal("mean", costs[AggregationRule.Mean].Spec);
    }

    [Fact]
    public void A_file_missing_a_rule_or_with_a_bad_exponent_is_refused_with_the_rule_named()
    {
        var missing = Assert.Throws<KeyNotFoundException>(() => AggregationCosts.Parse(Costs.Replace("\"krum\"", "\"krumm\""), "test"));
        Assert.Contains("'krum'", missing.Message);
        var bad = Assert.Throws<ScenarioException>(() => AggregationCosts.Parse(Costs.Replace("\"inputExponent\": 2", "\"inputExponent\": 3"), "test"));
        Assert.Contains("'krum'", bad.Message);
    }

    [Fact]
    public void A_folder_without_the_file_falls_back_to_the_estimates_and_with_it_reads_it()
    {
        string dir = Path.Combine(Path.GetTempPath(), "hm-calib-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Same(AggregationCost.Estimates, CalibrationFiles.LoadAggregation(dir));
            Assert.Null(CalibrationFiles.LoadCpuRow(dir));
            File.WriteAllText(Path.Combine(dir, CalibrationFiles.AggregationFile), Costs);
            Assert.Equal("hand-made", CalibrationFiles.LoadAggregation(dir).Source);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_cpu_row_uses_the_utilization_measured_for_the_preset()
    {
        var row = CalibrationFiles.ParseCpuRow("""
            { "name": "cpu", "peakBf16Tflops": 0.1, "peakFp32Tflops": 0.1, "memoryGiB": 8, "utilization": 0.5,
              "presetUtilization": { "tiny": 0.25 }, "source": "hand-made" }
            """, "test");

        // 0.1 TFLOPS × 0.25 = 25 GFLOP/s for tiny; an unmeasured preset keeps the row's 0.5 → 50 GFLOP/s.
        Assert.Equal(25e9, row.ForPreset("tiny").SustainedFlops(Precision.Fp32), 3);
        Assert.Equal(50e9, row.ForPreset("small").SustainedFlops(Precision.Fp32), 3);
    }

    [Fact]
    public void The_measured_calibration_ships_next_to_the_binary()
    {
        // The committed simulations/calibration files are copied to the output; a build that lost them would silently price
        // aggregation with the built-in estimates and the CPU with the old constant row.
        Assert.StartsWith("`calibrate`", CalibrationFiles.Aggregation.Source, StringComparison.Ordinal);
        Assert.NotNull(CalibrationFiles.CpuRow?.PresetUtilization?["tiny"]);
    }
}
