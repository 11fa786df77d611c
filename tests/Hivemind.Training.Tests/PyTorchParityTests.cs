using System.Runtime.InteropServices;
using System.Text.Json;
using Hivemind.Protocol.Tensors;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>The PyTorch reference loads our safetensors checkpoint and computes the same logits: our model is what we say it is.</summary>
public sealed class PyTorchParityTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private const float Tolerance = 1e-4f;
    private const int Batch = 3;
    private const int Seq = 48;
    // Initial weights (std 0.02) give near-zero logits that would agree trivially; scaled up, routing and logits vary.
    private const float WeightScale = 10f;
    private const int LocalWindow = 8;
    private const int LargeVocabulary = 1000;

    private readonly string _dir = Directory.CreateTempSubdirectory("hm-parity-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [PyTorchFact]
    public void MoeLogitsMatch() => AssertParity(ModelConfig.Preset("tiny"));

    // Capacity 1.0 × the balanced share: the scaled-up router is skewed enough that experts overflow and drop assignments.
    [PyTorchFact]
    public void MoeLogitsMatchWithCapacityDrops() => AssertParity(ModelConfig.Preset("tiny") with { CapacityFactor = 1.0 }, expectDrops: true);

    [PyTorchFact]
    public void DenseLogitsMatch() => AssertParity(ModelConfig.Preset("tiny").AsDense());

    // GPT-Neo's shape: global and local layers alternating, with a window well inside the sequence, and a
    // vocabulary that is not bytes (ids beyond 255 occur in the input).
    [PyTorchFact]
    public void LocalAttentionAndVocabularyLogitsMatch() =>
        AssertParity(ModelConfig.Preset("tiny") with { LocalAttentionWindow = LocalWindow, VocabSize = LargeVocabulary });

    private void AssertParity(ModelConfig config, bool expectDrops = false)
    {
        TestTorch.Use();
        var parameters = ModelInit.Initialize(config, 21);
        foreach (var t in parameters)
            if (t.Shape.Length == 2) for (int i = 0; i < t.Values.Length; i++) t.Values[i] *= WeightScale;
        var rng = new Random(4);
        var tokens = Enumerable.Range(0, Batch * Seq).Select(_ => (long)rng.Next(config.VocabSize)).ToArray();

        float[] ours;
        long[] ourDrops;
        using (var model = MoeTransformer.Create(config, ShardSpec.Full(config), parameters))
        using (var scope = NewDisposeScope())
        using (var noGrad = no_grad())
        {
            ours = model.forward(tensor(tokens, [Batch, Seq])).data<float>().ToArray();
            ourDrops = model.DroppedAssignments();
        }

        var checkpoint = Path.Combine(_dir, "model.safetensors");
        SafeTensors.Write(checkpoint, parameters);
        var cfg = Path.Combine(_dir, "config.json");
        File.WriteAllText(cfg, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["layers"] = config.Layers, ["width"] = config.Width, ["heads"] = config.Heads, ["experts"] = config.Experts,
            ["top_k"] = config.TopK, ["expert_hidden"] = config.ExpertHidden, ["context"] = config.ContextLength, ["dense"] = config.Dense,
            ["capacity_factor"] = config.CapacityFactor,
            ["vocab"] = config.VocabSize, ["local_window"] = config.LocalAttentionWindow,
        }));
        var tokenFile = Path.Combine(_dir, "tokens.i64");
        File.WriteAllBytes(tokenFile, MemoryMarshal.AsBytes(tokens.AsSpan()).ToArray());
        var outFile = Path.Combine(_dir, "logits.f32");
        var report = PyTorchReference.Run(PyTorchReference.Script, "logits", "--config", cfg, "--checkpoint", checkpoint, "--tokens", tokenFile,
            "--batch", $"{Batch}", "--seq", $"{Seq}", "--out", outFile);
        var theirs = MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(outFile)).ToArray();
        var theirDrops = JsonSerializer.Deserialize<Dictionary<string, long[]>>(report.Trim().Split('\n')[^1])!["dropped"];
        output.WriteLine($"{config.Name}: dropped assignments per layer, ours [{string.Join(", ", ourDrops)}], PyTorch [{string.Join(", ", theirDrops)}]");
        if (!config.Dense) Assert.Equal(theirDrops, ourDrops);
        Assert.Equal(expectDrops, ourDrops.Sum() > 0);

        Assert.Equal(ours.Length, theirs.Length);
        float maxDiff = 0, maxAbs = 0;
        for (int i = 0; i < ours.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(ours[i] - theirs[i]));
            maxAbs = Math.Max(maxAbs, Math.Abs(ours[i]));
        }
        // Measured: max |Δ| 9.1e-6 (MoE) and 5.5e-6 (dense) with logits up to 7: well inside 1e-4, and not vacuous.
        output.WriteLine($"{config.Name}: max |ours - PyTorch| = {maxDiff:E2}, max |logit| = {maxAbs:F2}");
        Assert.True(maxAbs > 1f, $"logits are too small ({maxAbs}) for the comparison to mean anything");
        Assert.True(maxDiff <= Tolerance, $"max |ours - PyTorch| = {maxDiff} > {Tolerance} (max |logit| {maxAbs})");
    }
}
