using System.Globalization;

namespace Hivemind.Aggregation.Spec;

/// <summary>One stage of a spec, <c>name(key=value, ...)</c>, with typed, position-aware argument access.</summary>
internal sealed class SpecStage(string source, string name, int column, IReadOnlyList<SpecArgument> arguments)
{
    private readonly HashSet<string> _used = [];

    public string Name { get; } = name;

    public int Column { get; } = column;

    public int Int(string key, int? fallback = null)
    {
        SpecArgument? argument = Find(key);
        if (argument is null)
        {
            return fallback ?? throw Missing(key, "an integer");
        }

        if (!int.TryParse(argument.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
        {
            throw new SpecParseException(source, argument.ValueColumn, $"{Name}: {key}=\"{argument.Value}\" is not an integer");
        }

        return value;
    }

    public double Double(string key, double? fallback = null)
    {
        SpecArgument? argument = Find(key);
        if (argument is null)
        {
            return fallback ?? throw Missing(key, "a number");
        }

        if (!double.TryParse(argument.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
        {
            throw new SpecParseException(source, argument.ValueColumn, $"{Name}: {key}=\"{argument.Value}\" is not a finite number");
        }

        return value;
    }

    public bool Has(string key) => arguments.Any(a => a.Key == key);

    /// <summary>Call after reading every parameter: an argument nobody read is a typo the user should hear about.</summary>
    public void RejectUnknown(params string[] known)
    {
        foreach (SpecArgument argument in arguments)
        {
            if (!_used.Contains(argument.Key))
            {
                string expected = known.Length == 0 ? "it takes no parameters" : "known: " + string.Join(", ", known);
                throw new SpecParseException(source, argument.KeyColumn, $"{Name}: unknown parameter \"{argument.Key}\" ({expected})");
            }
        }
    }

    /// <summary>Wraps a config error from a constructor so it points at this stage.</summary>
    public SpecParseException Invalid(string problem) => new(source, Column, problem);

    /// <summary>A config error about one parameter: points at its value when the spec gives it, else at the stage.</summary>
    public SpecParseException Invalid(string problem, string? parameter) =>
        new(source, arguments.FirstOrDefault(a => a.Key == parameter)?.ValueColumn ?? Column, problem);

    private SpecArgument? Find(string key)
    {
        _used.Add(key);
        return arguments.FirstOrDefault(a => a.Key == key);
    }

    private SpecParseException Missing(string key, string kind) =>
        new(source, Column, $"{Name}: missing parameter {key}= ({kind}), e.g. {Name}({key}=2)");
}
