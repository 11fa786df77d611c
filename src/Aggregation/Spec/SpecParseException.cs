namespace Hivemind.Aggregation;

/// <summary>A rule or attack spec could not be parsed; <see cref="Column"/> (1-based) points at the bad token.</summary>
public sealed class SpecParseException(string spec, int column, string problem)
    : Exception($"{problem.TrimEnd('.')} at column {column} of \"{spec}\"\n  {spec}\n  {new string(' ', Math.Max(0, column - 1))}^")
{
    /// <summary>1-based column of the offending token.</summary>
    public int Column { get; } = column;

    /// <summary>What is wrong, without the position decoration.</summary>
    public string Problem { get; } = problem;
}
