using System.Runtime.InteropServices;

namespace Hivemind.Coordinator.Storage;

/// <summary>fsync helpers: a rename is durable only once its directory is flushed too.</summary>
public static partial class DurableFiles
{
    private const int ReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY on Linux

    /// <summary>Flushes a directory's entries. .NET cannot open a directory as a file, so this calls libc (Linux only; elsewhere a no-op).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux()) return;
        int fd = Open(directory, ReadOnlyDirectory);
        if (fd < 0) throw new IOException($"cannot open directory {directory} to flush it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory {directory} failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically: temp file, fsync, rename, fsync the directory.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> bytes)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
        SyncDirectory(dir);
    }
}
