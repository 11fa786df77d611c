using System.Text.Json;

namespace Hivemind.Data;

/// <summary>Reads the component name (The Pile's meta.pile_set_name) out of a document's raw meta JSON.</summary>
public static class LmdMeta
{
    /// <summary>The component of documents whose meta has no pile_set_name.</summary>
    public const string UnknownComponent = "(none)";

    /// <summary>meta.pile_set_name when it is a string, else <see cref="UnknownComponent"/>.</summary>
    public static string Component(string? metaJson)
    {
        if (metaJson is null) return UnknownComponent;
        using JsonDocument meta = JsonDocument.Parse(metaJson);
        return meta.RootElement.ValueKind == JsonValueKind.Object
            && meta.RootElement.TryGetProperty(LmdWriter.ComponentField, out JsonElement name)
            && name.ValueKind == JsonValueKind.String
            ? name.GetString()! : UnknownComponent;
    }
}
