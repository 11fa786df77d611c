using System.Globalization;

namespace Hivemind.Volunteer;

/// <summary>Parses sizes such as 512MiB, 2GiB, 1.5GB or a plain byte count.</summary>
public static class ByteSize
{
    private static readonly (string Suffix, double Factor)[] Units =
    [
        ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40),
        ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ];

    public static long Parse(string text, string what)
    {
        string t = text.Trim();
        foreach (var (suffix, factor) in Units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase) &&
                double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0)
                return (long)(v * factor);
        }
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long bytes) && bytes > 0) return bytes;
        throw new ArgumentException($"{what} '{text}' is not a size; write it like 512MiB, 2GiB or 1500000000.");
    }
}
