namespace Hivemind.Aggregation.Cli;

/// <summary>Checks an output path before any work, so a typo costs nothing and leaves no partial file.</summary>
internal static class OutputPath
{
    /// <summary>Returns the full path, or throws <see cref="ArgumentException"/> naming the option, the path and the fix.</summary>
    public static string Check(FileInfo file, string option)
    {
        string path = file.FullName;
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"{option} {path} is a folder; give a file path such as {Path.Combine(path, "out.npy")}.");
        }

        string folder = Path.GetDirectoryName(path) ?? path;
        if (!Directory.Exists(folder))
        {
            throw new ArgumentException($"{option} {path}: folder {folder} does not exist; create it (mkdir -p {folder}) or write elsewhere.");
        }

        return path;
    }
}
