namespace Hivemind.Data;

/// <summary>Documents and UTF-8 text bytes of one component.</summary>
public sealed class ComponentStatistics(string name)
{
    /// <summary>meta.pile_set_name.</summary>
    public string Name { get; } = name;

    /// <summary>Documents counted.</summary>
    public long Documents { get; internal set; }

    /// <summary>UTF-8 bytes of their text.</summary>
    public long TextBytes { get; internal set; }
}
