using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>A training step crosses between device and host only where the model says it does: no hidden copies that would stall a GPU.</summary>
public sealed partial class DeviceTransferTests
{
    private const int Batch = 4;
    private const int Seq = 32;

    [Theory]
    [InlineData(false, 0.0)]
    [InlineData(false, 1.0)]
    [InlineData(true, 0.0)]
    public void AStepMakesOneTransferPerMoeLayerAndNoneWhenDense(bool dense, double capacityFactor)
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny") with { CapacityFactor = capacityFactor };
        if (dense) config = config.AsDense();
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), ModelInit.Initialize(config, 3));
        var rng = new Random(2);
        var tokens = tensor(Enumerable.Range(0, Batch * Seq).Select(_ => (long)rng.Next(config.VocabSize)).ToArray(), [Batch, Seq]);
        var targets = tensor(Enumerable.Range(0, Batch * Seq).Select(_ => (long)rng.Next(config.VocabSize)).ToArray());
        long before = DeviceTransfer.Count;
        using (var scope = NewDisposeScope())
        {
            var (logits, balance) = model.ForwardWithBalance(tokens);
            using Scalar weight = config.LoadBalanceWeight;
            var loss = nn.functional.cross_entropy(logits.reshape(-1, config.VocabSize), targets).add(balance, weight);
            loss.backward();
        }
        long expected = dense ? 0 : config.Layers; // the expert block sizes, once per MoE layer: the host slices the blocks
        Assert.Equal(expected, DeviceTransfer.Count - before);
    }

    [Fact]
    public void ExportingParametersIsCountedSoTheCounterSeesRealCopies()
    {
        TestTorch.Use();
        var config = ModelConfig.Preset("tiny");
        using var model = MoeTransformer.Create(config, ShardSpec.Full(config), ModelInit.Initialize(config, 3));
        long before = DeviceTransfer.Count;
        var exported = model.ExportParameters();
        Assert.Equal(exported.Count, DeviceTransfer.Count - before);
    }

    /// <summary>The counter only sees what goes through <see cref="DeviceTransfer"/>: this keeps every other path out of the model code.</summary>
    [Fact]
    public void ModelCodeCrossesToTheHostOnlyThroughDeviceTransferAndCreatesTensorsOnTheInputsDevice()
    {
        var dir = Path.Combine(RepositoryRoot(), "src", "Training", "Model");
        var problems = new List<string>();
        foreach (var file in Directory.EnumerateFiles(dir, "*.cs"))
        {
            if (Path.GetFileName(file) == "DeviceTransfer.cs") continue;
            var lines = File.ReadAllLines(file);
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i].Trim();
                if (line.StartsWith("//", StringComparison.Ordinal) || line.StartsWith("///", StringComparison.Ordinal)) continue;
                string where = $"{Path.GetFileName(file)}:{i + 1}: {line}";
                if (HostCrossing().IsMatch(line)) problems.Add($"host crossing outside DeviceTransfer: {where}");
                if (Creation().IsMatch(line) && !DeviceArgument().IsMatch(line) && !Allowed.Any(a => line.Contains(a, StringComparison.Ordinal)))
                    problems.Add($"tensor created without a device: {where}");
            }
        }
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    // Constructors build parameters and buffers on the CPU; Module.to(device) moves them, so they need no device here.
    private static readonly string[] Allowed =
    [
        "nn.Parameter(empty(hidden, width))",
        "nn.Parameter(empty(width, hidden))",
        "register_buffer(RouterMaskName, tensor(mask)",
    ];

    [GeneratedRegex(@"\.cpu\(\)|\.data<|\.item<|\.to\(|DeviceType\.CPU")]
    private static partial Regex HostCrossing();

    [GeneratedRegex(@"(?<![\w.])(zeros|ones|full|empty|arange|tensor|randn|rand|eye|linspace)\(")]
    private static partial Regex Creation();

    // A device passed by name (device: x) or by position (…, tokens.device) — either way the call names one.
    [GeneratedRegex(@"\bdevice\b")]
    private static partial Regex DeviceArgument();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Hivemind.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Hivemind.sln above {AppContext.BaseDirectory}; run the tests from the repository checkout.");
    }
}
