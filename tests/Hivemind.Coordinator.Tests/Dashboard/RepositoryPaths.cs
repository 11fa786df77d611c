namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>Paths in the repository the tests run from (found by walking up to Hivemind.sln).</summary>
public static class RepositoryPaths
{
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Hivemind.sln"))) return dir.FullName;
            throw new DirectoryNotFoundException($"no Hivemind.sln above {AppContext.BaseDirectory}; run the tests from the repository.");
        }
    }

    /// <summary>The repository's artifacts folder (created if missing), where tests leave screenshots.</summary>
    public static string Artifacts => Directory.CreateDirectory(Path.Combine(Root, "artifacts")).FullName;
}
