using System.Collections.Frozen;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// The page, its script and style and the vendored uPlot, embedded in this assembly (see the project file) and served
/// from memory: the dashboard needs no files beside the executable and fetches nothing at run time.
/// </summary>
public static class EmbeddedAssets
{
    private const string Prefix = "dashboard/";

    private static readonly FrozenDictionary<string, (byte[] Bytes, string ContentType)> Assets = Load();

    /// <summary>The asset at <paramref name="path"/> (relative to wwwroot, e.g. <c>app.js</c>), or null.</summary>
    public static (byte[] Bytes, string ContentType)? Find(string path) =>
        Assets.TryGetValue(path, out var asset) ? asset : null;

    public static IEnumerable<string> Paths => Assets.Keys;

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(EmbeddedAssets).Assembly;
        var map = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (string name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            // MSBuild's RecursiveDir uses the host's separator; URLs use '/'.
            string path = name[Prefix.Length..].Replace('\\', '/');
            map[path] = (copy.ToArray(), ContentType(path));
        }
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentType(string path) => Path.GetExtension(path) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    };
}
