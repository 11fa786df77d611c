using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Demo;

/// <summary>
/// The demo wipes its folder at start, so it only ever wipes a folder it made: one holding its marker file, or an empty
/// or missing one. Anything else (a typo'd <c>--data-directory</c> pointing at a home folder or a real coordinator's
/// state) is refused untouched.
/// </summary>
public static class DemoFolder
{
    /// <summary>Written into every demo folder; its presence is what allows the next demo to wipe the folder.</summary>
    public const string MarkerName = ".hivemind-demo";

    /// <summary>Empties (or creates) <paramref name="folder"/> and marks it as the demo's; throws <see cref="UsageException"/> for a folder that is not a demo's.</summary>
    public static void Prepare(string folder)
    {
        if (File.Exists(folder))
            throw new UsageException($"--data-directory '{folder}' is a file; give a new folder or a previous demo's.");
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            if (!File.Exists(Path.Combine(folder, MarkerName)))
                throw new UsageException(
                    $"--data-directory '{folder}' is not empty and is not a previous demo's folder (it has no {MarkerName} file); the demo deletes its folder's " +
                    "contents at start, so give a new or empty folder (or delete this one yourself if you are sure).");
            Directory.Delete(folder, recursive: true);
        }
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, MarkerName), "This folder belongs to `Hivemind.Coordinator demo`, which deletes it at its next start.\n");
    }
}
