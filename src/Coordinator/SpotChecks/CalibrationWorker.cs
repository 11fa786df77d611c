using Hivemind.Training;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>
/// One child process of the calibration: trains the honest update of every unit on this process's kernel path, and the training
/// cheats of the units whose "volunteer" runs on this path, and writes them (uncoded, safetensors) under the path's folder.
/// </summary>
public static class CalibrationWorker
{
    public static void Run(string directory, string pathName, int pathIndex, int pathCount, int units, int innerSteps, int threads, TextWriter log)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(threads);
        var setup = new CalibrationUnits(innerSteps);
        var theta0 = SafeTensors.Read(Path.Combine(directory, CheckCalibration.Theta0File));
        var theta1 = SafeTensors.Read(Path.Combine(directory, CheckCalibration.Theta1File));
        string output = Path.Combine(directory, pathName);
        Directory.CreateDirectory(output);
        for (int u = 0; u < units; u++)
        {
            SafeTensors.Write(Path.Combine(output, CheckCalibration.FileName(u, "honest")), setup.Honest(theta1, u));
            if (u % pathCount != pathIndex) continue;
            foreach (var cheat in CalibrationUnits.TrainedCheats)
                SafeTensors.Write(Path.Combine(output, CheckCalibration.FileName(u, cheat)), setup.TrainedCheat(cheat, theta0, theta1, u));
        }
        log.WriteLine($"worker {pathName}: {units} units, threads {TorchSharp.torch.get_num_threads()}, ATEN_CPU_CAPABILITY={Environment.GetEnvironmentVariable("ATEN_CPU_CAPABILITY") ?? "(unset)"}");
    }
}
