using System.Text.Json;
using System.Text.Json.Serialization;
using Hivemind.Simulations.Simulation;

namespace Hivemind.Simulations.Scenarios;

/// <summary>Reads a <see cref="Distribution"/> from a bare number (constant) or {"kind": ..., parameters}.</summary>
public sealed class DistributionJsonConverter : JsonConverter<Distribution>
{
    private static readonly string KnownKinds = "constant, exponential, lognormal, uniform";

    /// <inheritdoc />
    public override Distribution Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return Distribution.Constant(reader.GetDouble());
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException($"expected a number or an object like {{\"kind\": \"exponential\", \"mean\": 4}}, got {reader.TokenType}");
        }

        string? kind = null;
        double value = 0, mean = 0, median = 0, sigma = 0, min = 0, max = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            string name = reader.GetString() ?? "";
            reader.Read();
            switch (name)
            {
                case "kind": kind = reader.GetString(); break;
                case "value": value = reader.GetDouble(); break;
                case "mean": mean = reader.GetDouble(); break;
                case "median": median = reader.GetDouble(); break;
                case "sigma": sigma = reader.GetDouble(); break;
                case "min": min = reader.GetDouble(); break;
                case "max": max = reader.GetDouble(); break;
                default:
                    throw new JsonException($"unknown distribution field \"{name}\"; a distribution has kind and value, mean, median, sigma, min or max");
            }
        }

        DistributionKind parsed = kind?.ToLowerInvariant() switch
        {
            "constant" => DistributionKind.Constant,
            "exponential" => DistributionKind.Exponential,
            "lognormal" => DistributionKind.LogNormal,
            "uniform" => DistributionKind.Uniform,
            null => throw new JsonException($"a distribution needs \"kind\" ({KnownKinds})"),
            _ => throw new JsonException($"distribution kind \"{kind}\" is unknown; use one of {KnownKinds}"),
        };
        return new Distribution(parsed, value, mean, median, sigma, min, max);
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, Distribution value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("kind", value.Kind.ToString().ToLowerInvariant());
        switch (value.Kind)
        {
            case DistributionKind.Constant: writer.WriteNumber("value", value.Value); break;
            case DistributionKind.Exponential: writer.WriteNumber("mean", value.Mean); break;
            case DistributionKind.LogNormal: writer.WriteNumber("median", value.Median); writer.WriteNumber("sigma", value.Sigma); break;
            case DistributionKind.Uniform: writer.WriteNumber("min", value.Min); writer.WriteNumber("max", value.Max); break;
        }

        writer.WriteEndObject();
    }
}
