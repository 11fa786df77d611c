using Hivemind.Protocol.Tensors;

namespace Hivemind.Protocol.Tests.Tensors;

/// <summary>The vector view of a parameter set: name order, exact round trip, clear error on a wrong length.</summary>
public sealed class ParameterSetVectorTests
{
    private static ParameterSet Sample() => new(
    [
        new NamedTensor("b", [2], [3f, 4f]),
        new NamedTensor("a", [1, 2], [1f, 2f]),
    ]);

    [Fact]
    public void FlattenConcatenatesInOrdinalNameOrder() => Assert.Equal([1f, 2f, 3f, 4f], Sample().Flatten());

    [Fact]
    public void WithValuesInvertsFlatten()
    {
        var set = Sample().WithValues([5f, 6f, 7f, 8f]);
        Assert.Equal([5f, 6f], set["a"].Values);
        Assert.Equal([1L, 2L], set["a"].Shape);
        Assert.Equal([7f, 8f], set["b"].Values);
        Assert.Equal(Sample().Flatten(), Sample().WithValues(Sample().Flatten()).Flatten());
    }

    [Fact]
    public void WithValuesRefusesAVectorOfAnotherLength()
    {
        var e = Assert.Throws<ArgumentException>(() => Sample().WithValues([1f, 2f, 3f]));
        Assert.Contains("3 values", e.Message);
        Assert.Contains("4 values", e.Message);
    }
}
