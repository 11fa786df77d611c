using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>The one door between device and host memory in the model code, counted so a test can prove a step makes no hidden copies.</summary>
/// <remarks>
/// On a GPU every crossing is a synchronisation and a PCIe copy, so the model makes exactly one per MoE layer and forward
/// (the expert block sizes, which the host needs to slice) and none otherwise; loading and exporting parameters cross
/// here too, outside the step. The count is per thread because a training step stays on one thread (dispose scopes are
/// thread-static as well).
/// </remarks>
public static class DeviceTransfer
{
    [ThreadStatic]
    private static long _count;

    /// <summary>Crossings made by model code on the calling thread since it started.</summary>
    public static long Count => _count;

    /// <summary>Copies a small integer tensor to host memory.</summary>
    internal static long[] ToHostInt64(Tensor values)
    {
        _count++;
        using var host = values.cpu();
        return host.data<long>().ToArray();
    }

    /// <summary>Copies a float tensor to host memory.</summary>
    internal static float[] ToHostFloat32(Tensor values)
    {
        _count++;
        using var host = values.cpu();
        return host.data<float>().ToArray();
    }

    /// <summary>Creates a tensor on <paramref name="device"/> from host values.</summary>
    internal static Tensor FromHost(float[] values, long[] shape, Device device)
    {
        _count++;
        return tensor(values, shape, device: device);
    }
}
