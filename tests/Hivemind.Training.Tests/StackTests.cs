using Hivemind.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Hivemind.Training.Tests;

/// <summary>Proves that TorchSharp loads and trains on this host (the Debian 12 libstdc++ fix).</summary>
public sealed class StackTests
{
    [Fact]
    public void TinyNetworkTrainsAndLossFalls()
    {
        TorchRuntime.EnsureLoaded();
        torch.manual_seed(1);
        using var scope = torch.NewDisposeScope();
        var net = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1));
        var x = torch.randn(64, 8);
        var y = x.sum(1, keepdim: true).sin();
        var opt = optim.Adam(net.parameters(), lr: 0.01);
        float first = 0, last = 0;
        const int Steps = 50;
        for (int i = 0; i < Steps; i++)
        {
            using var step = torch.NewDisposeScope();
            opt.zero_grad();
            var loss = nn.functional.mse_loss(net.forward(x), y);
            loss.backward();
            opt.step();
            if (i == 0) first = loss.item<float>();
            last = loss.item<float>();
        }
        Assert.True(last < first * 0.5f, $"loss went from {first} to {last}; expected it to halve in {Steps} steps");
    }

    [Fact]
    public void OutputCopyOfNativeLibraryIsPatchedOnlyWhereNeeded()
    {
        var lib = Directory.EnumerateFiles(AppContext.BaseDirectory, "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        var host = Hivemind.Build.ElfVersionNeeds.FindHostLibStdCxx();
        Assert.NotNull(host);
        var plan = Hivemind.Build.ElfVersionNeeds.Plan(File.ReadAllBytes(lib), lib, File.ReadAllBytes(host!), host!);
        Assert.Null(plan.Error);
        Assert.True(plan.NothingToDo, "the output copy should already load against this host's libstdc++");
    }
}
