namespace Hivemind.Aggregation;

/// <summary>A rule's configuration is invalid or beyond its breakdown point for the number of inputs.</summary>
/// <param name="message">What is wrong, with the value and the fix.</param>
/// <param name="parameter">The spec parameter at fault (e.g. <c>f</c>), so a spec error can point at its value; null when the fault is not one parameter.</param>
public sealed class AggregationConfigException(string message, string? parameter = null) : Exception(message)
{
    /// <summary>The spec parameter at fault, or null.</summary>
    public string? Parameter { get; } = parameter;
}
