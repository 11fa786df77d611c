namespace Hivemind.Coordinator.SpotChecks;

/// <summary>
/// One way this machine can compute the same unit: libtorch's CPU kernel family (ATEN_CPU_CAPABILITY), .NET's vector width
/// (DOTNET_EnableAVX512F), MKL's instruction family for matrix products (MKL_ENABLE_INSTRUCTIONS) and libtorch's thread count. The environment variables are read once per process, so each path runs in its own child.
/// </summary>
public sealed record KernelPath(string Name, string AtenCapability, bool DotnetAvx512, int Threads)
{
    /// <summary>The child's environment variables that select this path.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["ATEN_CPU_CAPABILITY"] = AtenCapability,
        ["DOTNET_EnableAVX512F"] = DotnetAvx512 ? "1" : "0",
        // Matrix products go through MKL, which picks its own kernels: hold it to the same instruction family.
        ["MKL_ENABLE_INSTRUCTIONS"] = AtenCapability switch { "default" => "SSE4_2", "avx2" => "AVX2", _ => "AVX512" },
        // Idle OpenMP threads sleep instead of spinning: no effect on results, but two spinning threads on a busy machine run 100× slower.
        ["OMP_WAIT_POLICY"] = "PASSIVE",
    };

    /// <summary>Every path this CPU can run: scalar, AVX2 and (when present) AVX-512 kernels at 1 and 2 threads, and AVX-512 kernels with .NET held to 256-bit vectors.</summary>
    public static IReadOnlyList<KernelPath> Available()
    {
        var flags = CpuFlags();
        var paths = new List<KernelPath>();
        var capabilities = new List<string> { "default" };
        if (flags.Contains("avx2")) capabilities.Add("avx2");
        if (flags.Contains("avx512f") && flags.Contains("avx512bw") && flags.Contains("avx512vl") && flags.Contains("avx512dq")) capabilities.Add("avx512");
        foreach (int threads in new[] { 1, 2 })
            foreach (var c in capabilities)
                paths.Add(new KernelPath($"{c}-t{threads}", c, DotnetAvx512: true, threads));
        paths.Add(new KernelPath($"{capabilities[^1]}-t1-dotnet-noavx512", capabilities[^1], DotnetAvx512: false, 1));
        return paths;
    }

    /// <summary>The flags line of /proc/cpuinfo (empty elsewhere: only the scalar path is then offered).</summary>
    private static HashSet<string> CpuFlags()
    {
        const string cpuinfo = "/proc/cpuinfo";
        if (!File.Exists(cpuinfo)) return [];
        var line = File.ReadLines(cpuinfo).FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal));
        return line is null ? [] : [.. line[(line.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
    }
}
