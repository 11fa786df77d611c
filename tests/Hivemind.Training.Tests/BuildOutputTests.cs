using System.Runtime.InteropServices;
using Xunit.Abstractions;

namespace Hivemind.Training.Tests;

/// <summary>
/// The cause of the "long training call" crash: bin/ held hard links to the compiler's obj/ output, which the compiler
/// rewrites in place, so any rebuild rewrote the DLLs under a running trainer (AccessViolationException, then SIGBUS).
/// </summary>
/// <remarks>
/// Reproduced on 2026-12-01: a `pile` run from benchmarks/…/bin died with exactly the recorded error the moment
/// `dotnet build src/Training` (one changed line) finished; with the fix the same run trained through two such rebuilds
/// (docs/benchmarks/data.md). This test checks the state that made it possible: the DLLs this process runs from must
/// not be the same file (device and inode) as the compiler's output in obj/.
/// </remarks>
public sealed class BuildOutputTests(ITestOutputHelper output)
{
    // st_dev and st_ino lead struct stat on linux-x64 and linux-arm64 alike; the buffer exceeds either struct's size.
    private const int StatBufferBytes = 256;
    private const int DeviceOffset = 0;
    private const int InodeOffset = 8;

    // The test assembly itself and Hivemind.Training at least: fewer checked pairs means the test looked at nothing.
    private const int MinimumPairs = 2;

    [SkippableFact]
    public void RunningDllsAreNotHardLinksToTheCompilersOutput()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads inodes with libc stat (Linux); the hard links were made on Linux.");
        var bin = new DirectoryInfo(AppContext.BaseDirectory);
        string tfm = bin.Name, configuration = bin.Parent!.Name;
        var root = RepositoryRoot(bin);
        var pairs = new List<(string Bin, string Obj)>();
        foreach (var dll in bin.EnumerateFiles("Hivemind.*.dll"))
        {
            string name = Path.GetFileNameWithoutExtension(dll.Name);
            string project = name.EndsWith(".Tests", StringComparison.Ordinal)
                ? Path.Combine(root, "tests", name)
                : Path.Combine(root, "src", name["Hivemind.".Length..]);
            string obj = Path.Combine(project, "obj", configuration, tfm, dll.Name);
            if (File.Exists(obj)) pairs.Add((dll.FullName, obj));
        }

        foreach (var (b, o) in pairs) output.WriteLine($"{Identity(b)} {b}\n{Identity(o)} {o}");
        Assert.True(pairs.Count >= MinimumPairs, $"found only {pairs.Count} bin/obj pairs under {root}; the test did not look at the build.");
        var linked = pairs.Where(p => Identity(p.Bin) == Identity(p.Obj)).ToList();
        Assert.True(linked.Count == 0,
            "these DLLs are hard links to the compiler's output, so the next build rewrites them under any running process:\n" +
            string.Join('\n', linked.Select(p => $"{p.Bin} = {p.Obj}")) +
            "\nKeep CreateHardLinksForCopyFilesToOutputDirectoryIfPossible false (Directory.Build.props) and rebuild.");
    }

    private static string RepositoryRoot(DirectoryInfo start)
    {
        for (var d = start; d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Hivemind.sln"))) return d.FullName;
        }

        throw new InvalidOperationException($"no Hivemind.sln above {start.FullName}; run the tests from the repository's build output.");
    }

    private static (ulong Device, ulong Inode) Identity(string path)
    {
        var buffer = new byte[StatBufferBytes];
        if (Stat(path, buffer) != 0) throw new IOException($"stat({path}) failed with errno {Marshal.GetLastPInvokeError()}.");
        return (BitConverter.ToUInt64(buffer, DeviceOffset), BitConverter.ToUInt64(buffer, InodeOffset));
    }

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern int Stat([MarshalAs(UnmanagedType.LPUTF8Str)] string path, byte[] buffer);
}
