using System.Diagnostics;
using Hivemind.Aggregation.Cli;

namespace Hivemind.Aggregation.Tests;

/// <summary>The hivemind-robust commands, in process, plus a cross-check against numpy when it is installed.</summary>
public sealed class CliTests : IDisposable
{
    private const string SystemPython = "/usr/bin/python3";
    private readonly string _folder = Directory.CreateTempSubdirectory("hivemind-robust-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Aggregate_reads_a_stack_and_writes_the_median_vector()
    {
        float[][] rows = Data.Gaussian(7, 33, seed: 1);
        string input = Path.Combine(_folder, "updates.npy");
        string output = Path.Combine(_folder, "agg.npy");
        NpyFile.Write(input, NpyArray.Stack(rows));

        (int code, string stdout, string stderr) = Run("aggregate", "--rule", "median", "--in", input, "--out", output);

        Assert.True(code == 0, stderr);
        Assert.Contains("aggregated 7 of 7", stdout);
        NpyArray result = NpyFile.Read(output);
        Assert.True(result.IsVector);
        Assert.Equal(Reference.Median(rows), result.Data);
    }

    [Fact]
    public void Attack_writes_f_rows()
    {
        string input = Path.Combine(_folder, "honest.npy");
        string output = Path.Combine(_folder, "byz.npy");
        NpyFile.Write(input, NpyArray.Stack(Data.Gaussian(5, 10, seed: 2)));

        (int code, _, string stderr) = Run("attack", "--kind", "alie(z=1)", "--f", "3", "--in", input, "--out", output);

        Assert.True(code == 0, stderr);
        NpyArray result = NpyFile.Read(output);
        Assert.Equal((3, 10, false), (result.Rows, result.Columns, result.IsVector));
    }

    [Fact]
    public void Errors_name_the_file_and_the_problem()
    {
        string text = Path.Combine(_folder, "notes.npy");
        File.WriteAllText(text, "hello");
        string vector = Path.Combine(_folder, "vector.npy");
        NpyFile.Write(vector, NpyArray.Vector([1f, 2f]));
        string output = Path.Combine(_folder, "out.npy");

        (int code, _, string stderr) = Run("aggregate", "--rule", "median", "--in", text, "--out", output);
        Assert.Equal(RobustCli.UsageError, code);
        Assert.Contains($"{text}: not a NumPy .npy file", stderr);

        (code, _, stderr) = Run("aggregate", "--rule", "median", "--in", vector, "--out", output);
        Assert.Equal(RobustCli.UsageError, code);
        Assert.Contains($"{vector}: shape (2,) is one vector", stderr);

        (code, _, stderr) = Run("aggregate", "--rule", "median | krum", "--in", vector, "--out", output);
        Assert.Equal(RobustCli.UsageError, code);
        Assert.Contains("column 1", stderr);

        (code, _, stderr) = Run("aggregate", "--rule", "median", "--in", Path.Combine(_folder, "missing.npy"), "--out", output);
        Assert.Equal(RobustCli.UsageError, code);
        Assert.Contains("missing.npy: cannot open", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Truncated_and_wrong_dtype_files_are_explained()
    {
        string path = Path.Combine(_folder, "x.npy");
        NpyFile.Write(path, NpyArray.Stack(Data.Gaussian(3, 4, seed: 1)));
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        Assert.Contains("only 44 follow the header", Assert.Throws<NpyFormatException>(() => NpyFile.Read(path)).Message);

        int descr = bytes.AsSpan().IndexOf("<f4"u8);
        bytes[descr + 2] = (byte)'8';
        File.WriteAllBytes(path, bytes);
        Assert.Contains("dtype '<f8' is not little-endian float32", Assert.Throws<NpyFormatException>(() => NpyFile.Read(path)).Message);
    }

    [Fact]
    public void Output_path_problems_are_one_line_naming_the_path_and_change_nothing()
    {
        string input = Path.Combine(_folder, "updates.npy");
        NpyFile.Write(input, NpyArray.Stack(Data.Gaussian(5, 8, seed: 1)));
        string missing = Path.Combine(_folder, "no-such-folder", "agg.npy");

        (int code, _, string stderr) = Run("aggregate", "--rule", "median", "--in", input, "--out", missing);
        AssertOneErrorLine(code, stderr, $"folder {Path.Combine(_folder, "no-such-folder")} does not exist");
        Assert.False(Directory.Exists(Path.GetDirectoryName(missing)));

        (code, _, stderr) = Run("aggregate", "--rule", "median", "--in", input, "--out", _folder);
        AssertOneErrorLine(code, stderr, $"--out {_folder} is a folder");

        (code, _, stderr) = Run("attack", "--kind", "zero", "--f", "2", "--in", input, "--out", missing);
        AssertOneErrorLine(code, stderr, "does not exist");
        Assert.Equal(["updates.npy"], Directory.GetFileSystemEntries(_folder).Select(Path.GetFileName));
    }

    [Fact]
    public void Attack_f_at_int_max_is_one_line_naming_f()
    {
        string input = Path.Combine(_folder, "honest.npy");
        string output = Path.Combine(_folder, "byz.npy");
        NpyFile.Write(input, NpyArray.Stack(Data.Gaussian(5, 10, seed: 2)));

        (int code, _, string stderr) = Run("attack", "--kind", "zero", "--f", $"{int.MaxValue}", "--in", input, "--out", output);
        AssertOneErrorLine(code, stderr, $"f={int.MaxValue}");
        Assert.False(File.Exists(output));

        (code, _, stderr) = Run("attack", "--kind", "zero", "--f", "2147483648", "--in", input, "--out", output);
        AssertOneErrorLine(code, stderr, "'2147483648'");
    }

    [Theory]
    [InlineData("krum(f=-1)", 8)]
    [InlineData("cclip(tau=-1)", 11)]
    [InlineData("nnm(f=1) | geomed(iters=0)", 25)]
    public void Out_of_range_values_get_the_caret_under_the_value(string rule, int column)
    {
        string input = Path.Combine(_folder, "updates.npy");
        NpyFile.Write(input, NpyArray.Stack(Data.Gaussian(5, 8, seed: 1)));
        (int code, _, string stderr) = Run("aggregate", "--rule", rule, "--in", input, "--out", Path.Combine(_folder, "agg.npy"));
        Assert.Equal(RobustCli.UsageError, code);
        string[] lines = stderr.TrimEnd().Split('\n');
        Assert.Single(lines, l => l.StartsWith("error: "));
        Assert.Contains($"at column {column}", lines[0]);

        // The caret line is indented by two like the echoed spec, so the caret sits under column `column`.
        Assert.Equal(new string(' ', 2 + column - 1) + "^", lines[^1]);
    }

    [Theory]
    [InlineData("abc, 4", "is not a non-negative integer")]
    [InlineData("-3, 4", "is not a non-negative integer")]
    [InlineData("18446744073709551616, 4", "does not fit in 64 bits")]
    [InlineData("4294967296, 4294967296", "more floats than one array can")]
    public void Malformed_shapes_are_one_line(string shape, string problem)
    {
        string path = Path.Combine(_folder, "bad.npy");
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}".PadRight(117) + "\n";
        File.WriteAllBytes(path, [0x93, .. "NUMPY"u8, 1, 0, (byte)dict.Length, 0, .. System.Text.Encoding.ASCII.GetBytes(dict), .. new byte[48]]);
        (int code, _, string stderr) = Run("aggregate", "--rule", "median", "--in", path, "--out", Path.Combine(_folder, "agg.npy"));
        AssertOneErrorLine(code, stderr, problem);
    }

    [Fact]
    public void Huge_v2_header_length_is_one_line()
    {
        string path = Path.Combine(_folder, "v2.npy");
        File.WriteAllBytes(path, [0x93, .. "NUMPY"u8, 2, 0, 0xFF, 0xFF, 0xFF, 0xFF, .. "{'descr': '<f4'}"u8]);
        (int code, _, string stderr) = Run("aggregate", "--rule", "median", "--in", path, "--out", Path.Combine(_folder, "agg.npy"));
        AssertOneErrorLine(code, stderr, "the header claims 4294967295 bytes");
    }

    [Fact]
    public void Command_line_mistakes_are_one_line_with_exit_2()
    {
        (int code, _, string stderr) = Run("aggregate", "--in", "x.npy");
        AssertOneErrorLine(code, stderr, "--rule");
        (code, _, stderr) = Run("attack", "--kind", "zero", "--f", "many", "--in", "x.npy", "--out", "y.npy");
        AssertOneErrorLine(code, stderr, "'many'");
        (code, _, stderr) = Run("aggregat");
        Assert.Equal(RobustCli.UsageError, code);
        Assert.StartsWith("error: ", stderr);
    }

    [Fact]
    public void Geomed_stopped_early_warns_on_stderr()
    {
        string input = Path.Combine(_folder, "updates.npy");
        NpyFile.Write(input, NpyArray.Stack(Data.Gaussian(7, 20, seed: 4)));
        (int code, _, string stderr) = Run("aggregate", "--rule", "geomed(iters=1)", "--in", input, "--out", Path.Combine(_folder, "agg.npy"));
        Assert.Equal(0, code);
        Assert.StartsWith("warning: geomed(", stderr);
    }

    private static void AssertOneErrorLine(int code, string stderr, string expected)
    {
        Assert.Equal(RobustCli.UsageError, code);
        string[] lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line, got: {stderr}");
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(expected, lines[0]);
    }

    [SkippableFact]
    public void Numpy_reads_what_we_write_and_we_read_what_numpy_writes()
    {
        Skip.IfNot(File.Exists(SystemPython), $"{SystemPython} not installed");
        string ours = Path.Combine(_folder, "ours.npy");
        string theirs = Path.Combine(_folder, "theirs.npy");
        NpyFile.Write(ours, NpyArray.Stack([[1f, 2f, 3f], [4f, 5f, 6.5f]]));
        string script =
            "import numpy as np, sys\n" +
            $"a = np.load('{ours}')\n" +
            "assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)\n" +
            $"np.save('{theirs}', (a.sum(axis=0) * 2).astype(np.float32))\n" +
            "print(float(np.median(a, axis=0)[2]))\n";
        (int code, string stdout, string stderr) = Python(script);
        Skip.If(stderr.Contains("No module named 'numpy'"), "numpy missing for /usr/bin/python3");
        Assert.True(code == 0, stderr);
        Assert.Equal("4.75", stdout.Trim());
        NpyArray back = NpyFile.Read(theirs);
        Assert.True(back.IsVector);
        Assert.Equal([10f, 14f, 19f], back.Data);
    }

    private static (int Code, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = RobustCli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static (int Code, string Stdout, string Stderr) Python(string script)
    {
        var start = new ProcessStartInfo(SystemPython) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        process.StandardInput.Write(script);
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();

        // Bounded: numpy imports in well under a second here; 60 s means the interpreter hung.
        if (!process.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            process.Kill();
            throw new TimeoutException("waited 60 s for /usr/bin/python3 to run the numpy check");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
