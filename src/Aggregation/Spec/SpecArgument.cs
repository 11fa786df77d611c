namespace Hivemind.Aggregation.Spec;

/// <summary>One <c>key=value</c> inside a stage's parentheses, with the columns for error messages.</summary>
internal sealed record SpecArgument(string Key, int KeyColumn, string Value, int ValueColumn);
