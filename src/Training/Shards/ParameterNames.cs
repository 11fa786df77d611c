using System.Globalization;

namespace Hivemind.Training;

/// <summary>The stable parameter names shared by checkpoints, shards, updates and the PyTorch reference.</summary>
public static class ParameterNames
{
    public const string TokenEmbedding = "tok_emb.weight";
    public const string PositionEmbedding = "pos_emb.weight";
    public const string FinalNormWeight = "ln_f.weight";
    public const string FinalNormBias = "ln_f.bias";
    public const string Head = "head.weight";

    private const string BlocksPrefix = "blocks.";
    private const string ExpertsInfix = ".moe.experts.";

    public static string Block(int layer, string rest) => $"{BlocksPrefix}{layer}.{rest}";

    /// <summary>e.g. <c>blocks.3.moe.experts.17.w1</c>.</summary>
    public static string Expert(ExpertId id, string weight) => $"{BlocksPrefix}{id.Layer}{ExpertsInfix}{id.Expert}.{weight}";

    /// <summary>Parses <c>blocks.L.moe.experts.E.*</c>; false for every trunk name.</summary>
    public static bool TryParseExpert(string name, out ExpertId id)
    {
        id = default;
        if (!name.StartsWith(BlocksPrefix, StringComparison.Ordinal)) return false;
        var rest = name.AsSpan(BlocksPrefix.Length);
        int dot = rest.IndexOf('.');
        if (dot <= 0 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int layer)) return false;
        rest = rest[dot..];
        if (!rest.StartsWith(ExpertsInfix, StringComparison.Ordinal)) return false;
        rest = rest[ExpertsInfix.Length..];
        dot = rest.IndexOf('.');
        if (dot <= 0 || dot == rest.Length - 1 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out int expert)) return false;
        id = new ExpertId(layer, expert);
        return true;
    }

    public static bool IsTrunk(string name) => !TryParseExpert(name, out _);
}
