using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>Seeded tensors of awkward sizes (partial int8 blocks, scalars, empty) with a wide spread of magnitudes.</summary>
internal static class TensorFixtures
{
    public static ParameterSet Mixed(int seed = 1)
    {
        var random = new Random(seed);
        return new ParameterSet(
        [
            Tensor(random, "blocks.0.attn.wq", [16, 16], 0.02f),
            Tensor(random, "blocks.0.moe.experts.3.w1", [3, 7, 37], 1.5f),   // 777 values: 3 full int8 blocks and a partial one
            Tensor(random, "blocks.0.norm.weight", [300], 100f),
            Tensor(random, "scalar", [], 0.5f),
            Tensor(random, "empty", [0, 4], 1f),
            Tensor(random, "head.ünïcode", [2, 128], 1e-3f),
        ]);
    }

    public static NamedTensor Tensor(Random random, string name, long[] shape, float magnitude)
    {
        var values = new float[NamedTensor.ElementCount(shape)];
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1) * magnitude;
        return new NamedTensor(name, shape, values);
    }
}
