using System.CommandLine;
using System.Globalization;

namespace Hivemind.Volunteer.CommandLine;

/// <summary>
/// Options whose bad values fail at parse time with a message naming the flag, the value and the allowed range
/// (System.CommandLine's own says "Cannot parse argument 'x' for option '--y' as expected type 'System.Int32'").
/// </summary>
public static class Flags
{
    public static Option<int> Int(string name, string description, int defaultValue, int min, int max = int.MaxValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            string text = result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value;
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max)
                return value;
            result.AddError($"{name} '{text}' is not a whole number {Range(min, max)}.");
            return defaultValue;
        },
    };

    public static Option<string> Text(string name, string description, string defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
    };

    /// <summary>A string option restricted to <paramref name="choices"/> (the error lists them).</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, IReadOnlyCollection<string> choices)
    {
        var option = Text(name, $"{description}: {string.Join(", ", choices)}", defaultValue);
        option.Validators.Add(result =>
        {
            string? value = result.Tokens.Count == 0 ? null : result.Tokens[^1].Value;
            if (value is not null && !choices.Contains(value))
                result.AddError($"{name} '{value}' is not one of {string.Join(", ", choices)}.");
        });
        return option;
    }

    private static string Range(int min, int max) => max == int.MaxValue
        ? $"of at least {min.ToString(CultureInfo.InvariantCulture)}"
        : $"from {min.ToString(CultureInfo.InvariantCulture)} to {max.ToString(CultureInfo.InvariantCulture)}";
}
