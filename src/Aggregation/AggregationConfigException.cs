namespace Hivemind.Aggregation;

/// <summary>A rule's configuration is invalid or beyond its breakdown point for the number of inputs.</summary>
public sealed class AggregationConfigException(string message) : Exception(message);
