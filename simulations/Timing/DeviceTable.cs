namespace Hivemind.Simulations.Timing;

/// <summary>The devices a scenario can name, built in and overridable by a scenario's own rows.</summary>
public sealed class DeviceTable
{
    // Measured on the 2-core development machine (AMD EPYC, 2 vCPUs) by `calibrate -c Release`:
    // 39.6 GFLOP/s for a packed, register-blocked fp32 SIMD matmul on both cores;
    // a scenario or a fresh `calibrate` output overrides it.
    private const double CalibratedCpuFp32Tflops = 0.0396;
    private const double CpuMemoryGiB = 24;

    // Fraction of peak a training step reaches. Narayanan et al. 2021 (Megatron-LM, SC21) report
    // 52% of A100 peak on dense GPT; Chowdhery et al. 2022 (PaLM) 46% on TPU v4. MoE routing and small
    // per-volunteer batches cost more, so these are deliberately lower; consumer cards lower still.
    private const double DataCenterUtilization = 0.40;
    private const double ConsumerUtilization = 0.35;
    private const double T4Utilization = 0.30;

    // A CPU training step reaches a fraction of the calibrated matmul rate (attention, norms,
    // optimizer); replaced by a measured step time once `calibrate` drives the training engine.
    private const double CpuUtilization = 0.5;

    /// <summary>The built-in rows; peak numbers are dense (no structured sparsity). The CPU row is the shipped calibration file's if present.</summary>
    public static IReadOnlyList<DeviceSpec> BuiltIn { get; } =
    [
        Calibration.CalibrationFiles.CpuRow ?? new("cpu", "CPU (this machine, calibrated)", CalibratedCpuFp32Tflops, CalibratedCpuFp32Tflops, CpuMemoryGiB, CpuUtilization,
            "`dotnet run --project simulations -- calibrate` on the 2-core dev machine (no bf16 units: fp32 rate in both columns)"),
        new("t4", "NVIDIA T4", 65, 8.1, 16, T4Utilization,
            "NVIDIA T4 Tensor Core GPU datasheet: 65 TFLOPS mixed fp16/fp32, 8.1 TFLOPS fp32"),
        new("rtx3090", "NVIDIA RTX 3090", 71, 35.6, 24, ConsumerUtilization,
            "NVIDIA Ampere GA102 whitepaper, Table: 71 TFLOPS fp16/bf16 tensor with fp32 accumulate (dense), 35.6 TFLOPS fp32"),
        new("a100", "NVIDIA A100 80GB SXM", 312, 19.5, 80, DataCenterUtilization,
            "NVIDIA A100 datasheet: 312 TFLOPS bf16 tensor (dense), 19.5 TFLOPS fp32"),
        new("h100", "NVIDIA H100 SXM", 989, 67, 80, DataCenterUtilization,
            "NVIDIA H100 datasheet (SXM5): 989 TFLOPS bf16 tensor (dense; 1979 with sparsity), 67 TFLOPS fp32"),
        new("tpu-v3", "Google TPU v3 chip", 123, 123, 32, DataCenterUtilization,
            "Google Cloud TPU system architecture: 123 TFLOPS bf16 per v3 chip (2 TensorCores), 32 GiB HBM; no separate fp32 rate"),
    ];

    private readonly Dictionary<string, DeviceSpec> _rows;

    /// <summary>The built-in table with <paramref name="overrides"/> replacing or adding rows by name.</summary>
    public DeviceTable(IEnumerable<DeviceSpec>? overrides = null)
    {
        _rows = BuiltIn.ToDictionary(d => d.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var row in overrides ?? [])
        {
            _rows[row.Name] = row;
        }
    }

    /// <summary>All rows, in name order.</summary>
    public IEnumerable<DeviceSpec> Rows => _rows.Values.OrderBy(r => r.Name, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="name"/> is a known device.</summary>
    public bool Contains(string name) => _rows.ContainsKey(name);

    /// <summary>The row named <paramref name="name"/>; the error lists the known names.</summary>
    public DeviceSpec this[string name] => _rows.TryGetValue(name, out var row)
        ? row
        : throw new KeyNotFoundException($"device '{name}' is not in the device table (known: {KnownNames}); add a row under \"devices\" or pick a known name");

    /// <summary>Comma-separated known names, for error messages.</summary>
    public string KnownNames => string.Join(", ", _rows.Keys.OrderBy(k => k, StringComparer.Ordinal));
}
