using System.Text.RegularExpressions;
using Hivemind.Coordinator.Demo;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Volunteer;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>
/// Every typo or bad value in serve, demo and volunteer: one <c>error:</c> line naming the value and the fix, exit code 2,
/// no stack trace, nothing created on disk, and only flags that exist named in the message.
/// </summary>
public sealed class CommandErrorTests
{
    /// <summary>{dir} in an argument becomes a fresh folder path that the refused command must not create.</summary>
    public static TheoryData<string[], string[]> BadInputs => new()
    {
        { ["serve", "--preset", "huge", "--data-directory", "{dir}"], ["--preset 'huge'", "tiny, small, base"] },
        { ["serve", "--trunk-rule", "foo(", "--data-directory", "{dir}"], ["--trunk-rule 'foo('", "column 5"] },
        { ["serve", "--expert-rule", "medain", "--data-directory", "{dir}"], ["--expert-rule 'medain'", "unknown rule", "median"] },
        { ["serve", "--trunk-rule", "trimmed-mean(f=2)", "--quorum", "3", "--data-directory", "{dir}"], ["--trunk-rule 'trimmed-mean(f=2)'", "--quorum 3", "raise --quorum"] },
        { ["serve", "--preset", "tiny", "--sequence-length", "100", "--data-directory", "{dir}"], ["--sequence-length 100", "context of 64", "--sequence-length 64 or less"] },
        { ["serve", "--quorom", "3", "--data-directory", "{dir}"], ["unknown option '--quorom'", "did you mean '--quorum'", "serve --help"] },
        { ["serve", "--quorum", "abc", "--data-directory", "{dir}"], ["--quorum 'abc'", "whole number"] },
        { ["serve", "--quorum", "0", "--data-directory", "{dir}"], ["quorum 0", "at least 1"] },
        { ["serve", "--round-timeout", "soon", "--data-directory", "{dir}"], ["--round-timeout 'soon'", "seconds, or hh:mm:ss"] },
        { ["serve", "--outer-learning-rate", "-1", "--data-directory", "{dir}"], ["outer-learning-rate -1", "> 0"] },
        { ["serve", "--sequence-length", "1", "--data-directory", "{dir}"], ["sequence-length 1", "at least"] },
        { ["serve", "--codec", "fp8", "--data-directory", "{dir}"], ["codec 'fp8'", "fp32, fp16, int8"] },
        { ["serve", "--codec", "topk4", "--data-directory", "{dir}"], ["codec 'topk4'", "error-feedback residual", "--spot-check-probability 0"] },
        { ["serve", "--port", "70000", "--data-directory", "{dir}"], ["--port '70000'", "0 to 65535"] },
        { ["serve", "--host", "my-laptop", "--data-directory", "{dir}"], ["--host 'my-laptop'", "127.0.0.1"] },
        { ["serve", "--tls-certificate", "/no/such/cert.pem", "--data-directory", "{dir}"], ["--tls-certificate '/no/such/cert.pem' does not exist"] },
        { ["serve", "--tls-key", "/no/such/key.pem", "--data-directory", "{dir}"], ["--tls-key", "without --tls-certificate"] },
        { ["serve", "--config", "/no/such/coordinator.json", "--data-directory", "{dir}"], ["--config '/no/such/coordinator.json' does not exist"] },
        { ["srve"], ["unknown command 'srve'", "did you mean 'serve'"] },
        { ["demo", "--preset", "huge", "--data-directory", "{dir}"], ["--preset 'huge'", "tiny, small, base"] },
        { ["demo", "--rule", "median(", "--data-directory", "{dir}"], ["--rule 'median('", "column"] },
        { ["demo", "--rule", "krum(f=2)", "--volunteers", "3", "--data-directory", "{dir}"], ["--rule 'krum(f=2)'", "--volunteers"] },
        { ["demo", "--byzantine", "signflip", "--data-directory", "{dir}"], ["--byzantine 'signflip'", "sign-flip"] },
        { ["demo", "--volunteers", "0", "--data-directory", "{dir}"], ["--volunteers '0'", "from 1 to"] },
        { ["demo", "--rules", "median", "--data-directory", "{dir}"], ["unknown option '--rules'", "did you mean '--rule'"] },
        { ["demo", "--inner-steps", "0", "--data-directory", "{dir}"], ["--inner-steps '0'", "from 1 to"] },
        { ["demo", "--inner-learning-rate", "0", "--data-directory", "{dir}"], ["--inner-learning-rate '0'", "above 0", "e.g. 1e-2"] },
        { ["demo", "--inner-learning-rate", "fast", "--data-directory", "{dir}"], ["--inner-learning-rate 'fast'", "above 0"] },
        { ["demo", "--outer-momentum", "1", "--data-directory", "{dir}"], ["--outer-momentum '1'", "[0, 1)"] },
        { ["demo", "--outer-momentum", "-0.5", "--data-directory", "{dir}"], ["--outer-momentum '-0.5'", "[0, 1)"] },
        { ["volunteer", "--memory", "12XB", "--cache", "{dir}"], ["--memory '12XB'", "2GiB"] },
        { ["volunteer", "--behaviour", "honest", "--cache", "{dir}"], ["unknown option '--behaviour'", "did you mean '--behavior'"] },
        { ["volunteer", "--behavior", "evil", "--cache", "{dir}"], ["--behavior 'evil'", "sign-flip"] },
        { ["volunteer", "--coordinator", "127.0.0.1:5000", "--cache", "{dir}"], ["--coordinator '127.0.0.1:5000'", "http://127.0.0.1:5000"] },
        { ["volunteer", "--threads", "0", "--cache", "{dir}"], ["--threads '0'", "from 1 to"] },
        { ["volunteer", "--device", "gpu", "--cache", "{dir}"], ["--device 'gpu'", "auto, cpu, cuda"] },
        { ["volunteer", "--device", "cuda", "--cache", "{dir}"], ["--device cuda", "--device cpu"] },
        { ["volunteer", "--max-units", "-1", "--cache", "{dir}"], ["--max-units '-1'", "at least 0"] },
        { ["volunteer", "--relay", "--relay-bind", "my-laptop", "--cache", "{dir}"], ["--relay-bind 'my-laptop'", "0.0.0.0"] },
        { ["volunteer", "--relay", "--relay-port", "70000", "--cache", "{dir}"], ["--relay-port '70000'", "from 1 to 65535"] },
        { ["volunteer", "--relay", "--relay-upload", "fast", "--cache", "{dir}"], ["--relay-upload 'fast'", "512MiB"] },
        { ["volunteer", "--upnp", "--cache", "{dir}"], ["--upnp", "needs --relay"] },
        { ["serve", "--data", "/no/such/corpus", "--data-directory", "{dir}"], ["--data '/no/such/corpus'", "build-mini-pile.sh"] },
        { ["demo", "--data", "/no/such/corpus", "--data-directory", "{dir}"], ["--data '/no/such/corpus'", "build-mini-pile.sh"] },
        { ["demo", "--data", "mini-pile", "--data-directory", "{dir}"], ["mini-pile is not built", "bash scripts/build-mini-pile.sh"] },
        { ["demo", "--compare-central", "--data-directory", "{dir}"], ["--compare-central", "--data mini-pile"] },
        { ["volunteer", "--data-mirror", "/no/such/mirror", "--cache", "{dir}"], ["--data-mirror '/no/such/mirror'", "hivemind-corpus mirror"] },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInputIsOneLineNamingTheValueAndTheFix(string[] args, string[] expected)
    {
        using var scratch = new TempDirectory();
        string dir = Path.Combine(scratch.Path, "untouched");
        var run = await CliRun.RunAsync([.. args.Select(a => a.Replace("{dir}", dir))]);

        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.StartsWith("error: ", line);
        foreach (var fragment in expected) Assert.Contains(fragment, line);
        Assert.DoesNotContain("   at ", run.Error); // no stack trace
        Assert.False(Directory.Exists(dir), $"the refused command created {dir}");
        AssertNamesOnlyRealFlags(args[0], line);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes are a Unix concept; KeyFile checks them only there
    public async Task KeyFileReadableByOthersIsRefusedWithTheChmodFix()
    {
        using var scratch = new TempDirectory();
        string key = Path.Combine(scratch.Path, "volunteer.key");
        Hivemind.Protocol.Identity.VolunteerIdentity.LoadOrCreate(key).Dispose();
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead); // 0644
        string before = File.ReadAllText(key);

        var run = await CliRun.RunAsync("volunteer", "--key", key, "--cache", Path.Combine(scratch.Path, "cache"));

        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains("--key", line);
        Assert.Contains("0644", line);
        Assert.Contains($"chmod 600 {key}", line);
        Assert.Equal(before, File.ReadAllText(key));
    }

    [Fact]
    public async Task KeyPathThatIsAFolderIsRefused()
    {
        using var scratch = new TempDirectory();
        var run = await CliRun.RunAsync("volunteer", "--key", scratch.Path, "--cache", Path.Combine(scratch.Path, "cache"));
        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        Assert.Contains($"--key '{scratch.Path}' is a folder", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public async Task CacheThatCannotBeAFolderIsRefused()
    {
        using var scratch = new TempDirectory();
        string file = Path.Combine(scratch.Path, "a-file");
        File.WriteAllText(file, "x");
        string cache = Path.Combine(file, "cache");
        var run = await CliRun.RunAsync("volunteer", "--key", Path.Combine(scratch.Path, "v.key"), "--cache", cache);
        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains($"--cache '{cache}' cannot be used as a folder", line);
        Assert.Contains("give a folder you can write to", line);
    }

    [Fact]
    public async Task DataDirectoryUnderAFileIsRefused()
    {
        using var scratch = new TempDirectory();
        string file = Path.Combine(scratch.Path, "a-file");
        File.WriteAllText(file, "x");
        string data = Path.Combine(file, "data");
        var run = await CliRun.RunAsync("serve", "--preset", "tiny", "--port", "0", "--data-directory", data,
            "--admission-token", "t", "--trunk-rule", "median", "--expert-rule", "median");
        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains($"--data-directory '{data}' cannot be used", line);
        Assert.Equal("x", File.ReadAllText(file));
    }

    [Fact]
    public async Task PortInUseIsRefusedBeforeTheStoreIsCreated()
    {
        using var scratch = new TempDirectory();
        using var holder = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        holder.Start();
        int port = ((System.Net.IPEndPoint)holder.LocalEndpoint).Port;
        string dir = Path.Combine(scratch.Path, "data");

        var run = await CliRun.RunAsync("serve", "--preset", "tiny", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--data-directory", dir, "--admission-token", "t", "--trunk-rule", "median", "--expert-rule", "median");

        Assert.Equal(CommandLineRunner.UsageExitCode, run.ExitCode);
        var line = Assert.Single(run.ErrorLines);
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", line);
        Assert.Contains("--port", line);
        Assert.False(Directory.Exists(dir));
    }

    /// <summary>Every <c>--flag</c> a message names must be one the command has.</summary>
    private static void AssertNamesOnlyRealFlags(string command, string line)
    {
        var console = new CliConsole(TextWriter.Null, TextWriter.Null, HandlesTermination: false);
        System.CommandLine.Command? c = command switch
        {
            "serve" => ServeCommand.Create(console),
            "demo" => DemoCommand.Create(console),
            CoordinatorCli.VolunteerVerb => VolunteerProgram.CreateCommand(),
            _ => null,
        };
        var known = new HashSet<string>((c?.Options ?? []).Select(o => o.Name), StringComparer.Ordinal) { "--help" };
        foreach (Match m in Regex.Matches(line, @"(?<![\w-])--[a-z][a-z-]*"))
        {
            // The quoted unknown flag itself is of course not a real one.
            if (line.Contains($"unknown option '{m.Value}'", StringComparison.Ordinal)) continue;
            Assert.True(known.Contains(m.Value), $"the message names {m.Value}, which '{command}' does not have: {line}");
        }
    }
}
