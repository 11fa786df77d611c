using System.Diagnostics;
using System.Globalization;
using Hivemind.Coordinator.Verification;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>
/// The spot check's calibration: honest recomputations of tiny units across kernel paths (one child process per path) against
/// each other, and every cheat class against honest recomputations on the other paths. Yields the samples the report tabulates.
/// </summary>
public static class CheckCalibration
{
    public const string Theta0File = "theta0.safetensors";
    public const string Theta1File = "theta1.safetensors";

    /// <summary>Noise levels of the Gaussian cheat, as a fraction of each tensor's RMS.</summary>
    public static readonly IReadOnlyList<double> NoiseLevels = [0.0001, 0.01, 0.1];

    /// <summary>Cheats that are arithmetic on the volunteer's own honest update.</summary>
    public static IReadOnlyList<string> ArithmeticCheats => ["sign-flip", "zero", .. NoiseLevels.Select(NoiseName), "scale-1.1"];

    /// <summary>Every cheat class, arithmetic then trained.</summary>
    public static IReadOnlyList<string> Cheats => [.. ArithmeticCheats, .. CalibrationUnits.TrainedCheats];

    /// <summary>A child process that has not finished its units in this time is stuck (a tiny unit trains in well under a second).</summary>
    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromMinutes(30);

    public static string FileName(int unit, string kind) => $"u{unit}.{kind}.safetensors";

    public static string NoiseName(double level) => $"noise-{(level * 100).ToString("0.##", CultureInfo.InvariantCulture)}%";

    /// <summary>Runs the children and compares; <paramref name="directory"/> keeps their outputs for inspection.</summary>
    public static async Task<IReadOnlyList<CalibrationSample>> RunAsync(string directory, IReadOnlyList<KernelPath> paths, int units, int innerSteps, TextWriter log, CancellationToken ct)
    {
        if (paths.Count < 2) throw new ArgumentException($"{paths.Count} kernel path(s) given; a calibration compares at least 2.");
        Directory.CreateDirectory(directory);
        TorchRuntime.EnsureLoaded();
        var setup = new CalibrationUnits(innerSteps);
        var theta0 = setup.InitialParameters();
        // θ_1: θ_0 after one plain outer step with a full-shard update, so that units do not all start from the initialisation.
        var theta1 = theta0.Clone();
        var first = setup.Unit(0, 0);
        var step = Recomputation.Run(first with { Shard = ShardSpec.Full(setup.Model) }, theta0, ct);
        foreach (var t in step)
        {
            var values = theta1[t.Name].Values;
            for (int i = 0; i < values.Length; i++) values[i] -= t.Values[i];
        }
        SafeTensors.Write(Path.Combine(directory, Theta0File), theta0);
        SafeTensors.Write(Path.Combine(directory, Theta1File), theta1);

        for (int i = 0; i < paths.Count; i++)
        {
            var watch = Stopwatch.StartNew();
            await RunWorkerAsync(directory, paths[i], i, paths.Count, units, innerSteps, ct);
            log.WriteLine($"path {paths[i].Name}: {units} units in {watch.Elapsed.TotalSeconds:0.0} s");
        }
        return Compare(directory, paths, units, setup.Codec);
    }

    /// <summary>Every honest pair (volunteer path ≠ checker path) and every cheat against every other path's honest recomputation.</summary>
    public static IReadOnlyList<CalibrationSample> Compare(string directory, IReadOnlyList<KernelPath> paths, int units, PayloadCodec codec)
    {
        var samples = new List<CalibrationSample>();
        for (int u = 0; u < units; u++)
        {
            var honest = paths.Select(p => Recomputation.ThroughCodec(SafeTensors.Read(Path.Combine(directory, p.Name, FileName(u, "honest"))), codec)).ToList();
            for (int a = 0; a < paths.Count; a++)
                for (int b = 0; b < paths.Count; b++)
                    if (a != b) samples.Add(new CalibrationSample(CalibrationSample.Honest, u, paths[a].Name, paths[b].Name, UpdateDivergence.Measure(honest[a], honest[b])));

            int volunteer = u % paths.Count;
            var raw = SafeTensors.Read(Path.Combine(directory, paths[volunteer].Name, FileName(u, "honest")));
            var cheats = new Dictionary<string, ParameterSet>(StringComparer.Ordinal)
            {
                ["sign-flip"] = Map(raw, (v, _) => v.Select(x => -x).ToArray()),
                ["zero"] = Map(raw, (v, _) => new float[v.Length]),
                ["scale-1.1"] = Map(raw, (v, _) => v.Select(x => x * 1.1f).ToArray()),
            };
            foreach (var level in NoiseLevels)
            {
                var rng = new Random(unchecked(u * 7919 + (int)(level * 1e4)));
                cheats[NoiseName(level)] = Map(raw, (v, _) => AddNoise(v, level, rng));
            }
            foreach (var cheat in CalibrationUnits.TrainedCheats)
                cheats[cheat] = SafeTensors.Read(Path.Combine(directory, paths[volunteer].Name, FileName(u, cheat)));
            foreach (var cheat in Cheats)
            {
                var claimed = Recomputation.ThroughCodec(cheats[cheat], codec);
                for (int b = 0; b < paths.Count; b++)
                    if (b != volunteer) samples.Add(new CalibrationSample(cheat, u, paths[volunteer].Name, paths[b].Name, UpdateDivergence.Measure(claimed, honest[b])));
            }
        }
        return samples;
    }

    private static float[] AddNoise(float[] values, double level, Random rng)
    {
        double rms = values.Length == 0 ? 0 : Math.Sqrt(values.Sum(x => (double)x * x) / values.Length);
        var noisy = new float[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            // Box–Muller: a standard normal from two uniforms (seeded, so the table is reproducible).
            double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            noisy[i] = (float)(values[i] + level * rms * g);
        }
        return noisy;
    }

    private static ParameterSet Map(ParameterSet p, Func<float[], string, float[]> f) => new(p.Select(t => new NamedTensor(t.Name, t.Shape, f(t.Values, t.Name))));

    private static async Task RunWorkerAsync(string directory, KernelPath path, int index, int count, int units, int innerSteps, CancellationToken ct)
    {
        string apphost = Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator");
        var start = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Hivemind.Coordinator.dll") } };
        string[] args =
        [
            CalibrateChecksCommand.Name, "--worker", path.Name, "--directory", directory, "--path-index", Invariant(index), "--path-count", Invariant(count),
            "--units", Invariant(units), "--inner-steps", Invariant(innerSteps), "--threads", Invariant(path.Threads),
        ];
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in path.Environment) start.Environment[k] = v;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {start.FileName}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(WorkerTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the calibration worker for kernel path {path.Name} did not finish within {WorkerTimeout}; it was stopped.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"the calibration worker for kernel path {path.Name} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
