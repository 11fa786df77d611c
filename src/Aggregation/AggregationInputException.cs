namespace Hivemind.Aggregation;

/// <summary>No usable input remained after the input policy; <see cref="Rejected"/> says why for each input.</summary>
public sealed class AggregationInputException(string message, IReadOnlyList<InputRejection> rejected) : Exception(message)
{
    /// <summary>Every rejected input with its reason.</summary>
    public IReadOnlyList<InputRejection> Rejected { get; } = rejected;
}
