using Hivemind.Build;
using TorchSharp;

namespace Hivemind.Training;

/// <summary>Loads libtorch once, and turns TorchSharp's misleading load failure into one that names the cause.</summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadFailure = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws an <see cref="InvalidOperationException"/> that says what to install if libtorch cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (LoadFailure.Value is { } failure)
            throw failure;
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            using var probe = torch.ones(1);
            return null;
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException)
        {
            return new InvalidOperationException(Diagnose(), e);
        }
    }

    /// <summary>Explains why libLibTorchSharp.so does not load on this host, reading its version needs.</summary>
    public static string Diagnose()
    {
        var lib = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).FirstOrDefault();
        if (lib is null)
            return $"libLibTorchSharp.so is not in {AppContext.BaseDirectory}. Reference the packages TorchSharp and libtorch-cpu-linux-x64 " +
                   "(see Directory.Packages.props) from the executable or test project, then rebuild.";
        var host = ElfVersionNeeds.FindHostLibStdCxx();
        if (host is null)
            return $"TorchSharp failed to load {lib} and no libstdc++.so.6 was found; install libstdc++6 (GCC 13 or later).";
        var plan = ElfVersionNeeds.Plan(File.ReadAllBytes(lib), lib, File.ReadAllBytes(host), host);
        if (plan.Error is not null) return plan.Error;
        if (!plan.NothingToDo)
            return $"{lib} needs {string.Join(", ", plan.ToSoften.Select(n => n.Version))} from libstdc++ and {host} lacks it. " +
                   "The build patches this copy (Directory.Build.targets, target HivemindPatchLibTorchSharp); rebuild with `dotnet build` " +
                   "rather than copying binaries by hand, or install GCC 13's libstdc++ (Debian 13, Ubuntu 24.04).";
        return $"TorchSharp failed to load {lib} although its libstdc++ needs are met; run `ldd {lib}` to see which library is missing.";
    }
}
