namespace Hivemind.Training.Tests;

/// <summary>
/// The guard that keeps training GC-safe: the banned-API list covers every TorchSharp method that builds an unheld Scalar,
/// and the training assembly calls none of them (the analyzer checks source; this checks the compiled IL).
/// </summary>
public sealed class GcSafetyGuardTests(Xunit.Abstractions.ITestOutputHelper output)
{
    // The one file the analyzer excludes (.editorconfig): branch h18-speed rewrites the MoE layer GC-safe. Remove it from
    // here and from .editorconfig when that lands.
    private static readonly HashSet<string> PendingRewrite = new(StringComparer.Ordinal);

    private static string BannedSymbolsFile => Path.Combine(AppContext.BaseDirectory, "gc-safety", "BannedSymbols.txt");

    [Fact]
    public void BannedListNamesEveryTorchSharpMethodThatBuildsAnUnheldScalar()
    {
        var listed = File.ReadAllLines(BannedSymbolsFile)
            .Where(l => !l.StartsWith("//", StringComparison.Ordinal) && l.Length > 0)
            .Select(l => l.Split(';')[0].Trim()).ToHashSet(StringComparer.Ordinal);
        var needed = TorchSharpScalarAudit.PublicUnsafeTorchSharpMethods.Select(TorchSharpScalarAudit.DocId).Distinct().Order(StringComparer.Ordinal).ToList();
        var conversions = typeof(TorchSharp.Scalar).GetMethods().Concat(typeof(TorchSharp.ScalarExtensionMethods).GetMethods())
            .Where(TorchSharpScalarAudit.MakesScalar).Select(TorchSharpScalarAudit.DocId).ToList();
        var missing = needed.Concat(conversions).Where(id => !listed.Contains(id)).ToList();
        output.WriteLine($"{needed.Count} TorchSharp methods build an unheld Scalar; {conversions.Count} conversions make one");
        // Sanity: the scan sees the cases that crashed (Tensor + Tensor, TorchSharp's AdamW), or it is reading nothing.
        Assert.Contains("M:TorchSharp.torch.Tensor.op_Addition(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)", needed);
        Assert.Contains("M:TorchSharp.Modules.AdamW.step(System.Func{TorchSharp.torch.Tensor})", needed);
        Assert.True(missing.Count == 0,
            $"{BannedSymbolsFile} lacks {missing.Count} entries; add these lines to build/gc-safety/BannedSymbols.txt:\n" +
            string.Join('\n', missing.Select(id => $"{id};{Reason(id)}")));
    }

    [Fact]
    public void TrainingAssemblyCallsNothingThatBuildsAnUnheldScalar()
    {
        var assembly = typeof(LocalTrainer).Assembly;
        var calls = assembly.GetTypes()
            .Where(t => t.DeclaringType is null && t != typeof(ScalarScope) && !PendingRewrite.Contains(t.Name))
            .SelectMany(TorchSharpScalarAudit.UnsafeCallsIn).Distinct().ToList();
        Assert.True(calls.Count == 0, $"unheld Scalars in {assembly.GetName().Name} (use ScalarScope and the overloads taking a Scalar):\n{string.Join('\n', calls)}");
        // The scan is not blind: ScalarScope converts numbers by design, and the scan sees it.
        Assert.NotEmpty(TorchSharpScalarAudit.UnsafeCallsIn(typeof(ScalarScope)));
    }

    /// <summary>The message the analyzer shows next to a banned call.</summary>
    internal static string Reason(string id) => id.Contains("op_Implicit", StringComparison.Ordinal) || id.Contains(".ToScalar", StringComparison.Ordinal)
        ? "an unheld Scalar can be freed by the GC mid-call; take one from a ScalarScope"
        : id.StartsWith("M:TorchSharp.Modules.", StringComparison.Ordinal) && id.Contains(".step(", StringComparison.Ordinal)
            ? "TorchSharp's optimizers build unheld Scalars; use FlatAdamW"
            : "builds an unheld Scalar inside TorchSharp (GC may free it mid-call); use the overload that takes a Scalar from a ScalarScope";
}
