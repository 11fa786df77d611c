using TorchSharp;

namespace Hivemind.Training.Tests;

/// <summary>Loads libtorch and pins its thread count: on a shared, loaded machine two OpenMP threads can be 80× slower than one.</summary>
internal static class TestTorch
{
    public static void Use(int threads = 1)
    {
        TorchRuntime.EnsureLoaded();
        torch.set_num_threads(threads);
    }
}
