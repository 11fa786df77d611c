namespace Hivemind.Aggregation.Policy;

/// <summary>The inputs that passed the input policy, their weights and original indices, and the rejections.</summary>
internal sealed record FilteredInputs(
    IReadOnlyList<ReadOnlyMemory<float>> Accepted,
    double[] Weights,
    int[] OriginalIndex,
    IReadOnlyList<InputRejection> Rejected);
