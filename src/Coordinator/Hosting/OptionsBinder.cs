using System.CommandLine;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// Makes every <see cref="CoordinatorOptions"/> property a flag (<c>DataDirectory</c> → <c>--data-directory</c>)
/// and reads an optional JSON config first, so one list of settings serves the config file, the flags and the docs.
/// </summary>
public static class OptionsBinder
{
    public static IReadOnlyList<(PropertyInfo Property, Option<string> Option)> CreateOptions()
    {
        var defaults = new CoordinatorOptions();
        return typeof(CoordinatorOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanWrite)
            .Select(p => (p, new Option<string>("--" + Kebab(p.Name))
            {
                Description = $"(default {Format(p.GetValue(defaults))})",
            }))
            .ToList();
    }

    /// <summary>Defaults, then the JSON config (if any), then the flags given on the command line.</summary>
    public static CoordinatorOptions Bind(ParseResult parse, IReadOnlyList<(PropertyInfo Property, Option<string> Option)> options, string? configPath)
    {
        var result = new CoordinatorOptions();
        if (!string.IsNullOrEmpty(configPath))
        {
            if (!File.Exists(configPath)) throw new ArgumentException($"--config '{configPath}' does not exist.");
            try
            {
                result = JsonSerializer.Deserialize<CoordinatorOptions>(File.ReadAllText(configPath), new JsonSerializerOptions
                {
                    PropertyNameCaseInsensitive = true,
                    UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
                    ReadCommentHandling = JsonCommentHandling.Skip,
                }) ?? result;
            }
            catch (JsonException e)
            {
                throw new ArgumentException($"--config '{configPath}': {e.Message} Property names are those of `serve --help` in PascalCase, e.g. \"Quorum\": 4.");
            }
        }
        foreach (var (property, option) in options)
        {
            string? text = parse.GetValue(option);
            if (text is null) continue;
            object value = Convert(text, property.PropertyType, option.Name);
            var copy = result with { };
            property.SetValue(copy, value);
            result = copy;
        }
        result.Validate();
        return result;
    }

    private static object Convert(string text, Type type, string flag)
    {
        try
        {
            if (type == typeof(string)) return text;
            if (type == typeof(int)) return int.Parse(text, CultureInfo.InvariantCulture);
            if (type == typeof(long)) return long.Parse(text, CultureInfo.InvariantCulture);
            if (type == typeof(double)) return double.Parse(text, CultureInfo.InvariantCulture);
            if (type == typeof(bool)) return bool.Parse(text);
            if (type == typeof(TimeSpan))
            {
                // Plain numbers are seconds ("90"); hh:mm:ss also works.
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
                    ? TimeSpan.FromSeconds(seconds)
                    : TimeSpan.Parse(text, CultureInfo.InvariantCulture);
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new ArgumentException($"{flag} '{text}' is not a valid {Describe(type)}.");
        }
        throw new ArgumentException($"{flag} has unsupported type {type.Name}.");
    }

    private static string Describe(Type t) => t == typeof(TimeSpan) ? "duration (seconds, or hh:mm:ss)" : t.Name.ToLowerInvariant();

    private static string Format(object? value) => value switch
    {
        TimeSpan t => $"{t.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
        string { Length: 0 } => "empty",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? "none",
    };

    public static string Kebab(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0) sb.Append('-');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
