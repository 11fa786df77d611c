using System.Diagnostics;
using System.Text.Json;

namespace Hivemind.Training.Benchmarks;

/// <summary>The PyTorch reference (benchmarks/pytorch/hivemind_ref.py serve) training the same architecture, one step per request.</summary>
/// <remarks>The process stays up for the whole run and times its own steps, so interpreter start-up and pipes are not measured.</remarks>
internal sealed class PyTorchSide : IBenchmarkSide
{
    private readonly Process _process;
    private readonly string _command;

    public PyTorchSide(string python, ModelConfig config, int batch, int seq, int threads)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "pytorch", "hivemind_ref.py");
        var psi = new ProcessStartInfo(python, [script, "serve", "--preset", config.Name, "--batch", $"{batch}", "--seq", $"{seq}",
            "--threads", $"{threads}", "--capacity-factor", config.CapacityFactor.ToString("R", System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        _command = $"{python} {string.Join(' ', psi.ArgumentList)}";
        _process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {_command}");
        using var ready = JsonDocument.Parse(ReadLine());
        TorchVersion = ready.RootElement.GetProperty("torch").GetString() ?? "?";
    }

    public string Name => "PyTorch " + TorchVersion;

    public string TorchVersion { get; }

    public double Step()
    {
        _process.StandardInput.WriteLine("step");
        _process.StandardInput.Flush();
        using var reply = JsonDocument.Parse(ReadLine());
        return reply.RootElement.GetProperty("step_s").GetDouble();
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(TimeSpan.FromSeconds(30))) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }

    private string ReadLine() =>
        _process.StandardOutput.ReadLine()
        ?? throw new InvalidOperationException($"the PyTorch reference exited ({(_process.HasExited ? _process.ExitCode : -1)}); run it by hand to see why: {_command}");
}
