using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hivemind.Simulations.Scenarios;

/// <summary>Reads scenario JSON strictly: unknown fields, wrong types and bad values fail with the field's path.</summary>
public static class ScenarioLoader
{
    /// <summary>The serializer settings for scenarios (camelCase fields, kebab-case enums, comments allowed).</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        WriteIndented = true,
        // Reports and device rows are read by people: keep backticks, quotes and × readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new KebabEnumConverter(), new DistributionJsonConverter() },
    };

    /// <summary>Parses and validates <paramref name="json"/>; <paramref name="source"/> names it in errors.</summary>
    public static Scenario Parse(string json, string source)
    {
        Scenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize<Scenario>(json, Options);
        }
        catch (JsonException e)
        {
            throw new ScenarioException(Describe(e, source), e);
        }

        if (scenario is null)
        {
            throw new ScenarioException($"scenario {source}: the file holds JSON null; write an object such as {{\"name\": \"my-run\"}}");
        }

        var problems = ScenarioValidator.Problems(scenario).ToList();
        if (problems.Count > 0)
        {
            throw new ScenarioException($"scenario {source} has {problems.Count} problem(s):\n  " + string.Join("\n  ", problems));
        }

        return scenario;
    }

    /// <summary>Reads and parses the file at <paramref name="path"/>.</summary>
    public static Scenario Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ScenarioException($"scenario file '{path}' does not exist; pass a path to a .json file or a shipped name (see `list`)");
        }

        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>The scenario as JSON, for the copy in the output folder.</summary>
    public static string Serialize(Scenario scenario) => JsonSerializer.Serialize(scenario, Options);

    private static string Describe(JsonException e, string source)
    {
        string field = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? "(top level)" : e.Path.TrimStart('$', '.');
        string where = e.LineNumber is long line ? $" (line {line + 1})" : "";
        string detail = e.Message;
        int cut = detail.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut >= 0)
        {
            detail = detail[..cut];
        }

        return $"scenario {source}: field {field}{where}: {detail}";
    }
}
