using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

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

    private const uint SyncFileRangeWrite = 2; // SYNC_FILE_RANGE_WRITE: start writeback of dirty pages in the range, do not wait

    /// <summary>
    /// Starts writing a just-written range of <paramref name="file"/> to disk without waiting (Linux <c>sync_file_range</c>), so the
    /// fsync that makes the file durable has little left to do. A hint only, never a durability guarantee: errors are ignored
    /// (the fsync reports them) and elsewhere it is a no-op.
    /// </summary>
    public static void StartWriteback(SafeFileHandle file, long offset, long count)
    {
        if (!OperatingSystem.IsLinux() || count <= 0) return;
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            _ = SyncFileRange((int)file.DangerousGetHandle(), offset, count, SyncFileRangeWrite);
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    /// <summary>
    /// Flushes <paramref name="file"/>'s data, and the metadata needed to read it back, to disk (Linux <c>fdatasync</c>; elsewhere a full
    /// flush). Throws <see cref="IOException"/> when the disk reports a failure.
    /// </summary>
    public static void FlushData(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(file);
            return;
        }
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            if (Fdatasync((int)file.DangerousGetHandle()) != 0) throw new IOException($"fdatasync failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    private const int GetStatusFlags = 3; // F_GETFL
    private const int SetStatusFlags = 4; // F_SETFL

    /// <summary><c>O_DIRECT</c>, whose value differs between Linux architectures.</summary>
    private static int DirectFlag => System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;

    /// <summary>
    /// Switches <paramref name="file"/> to direct I/O (Linux <c>O_DIRECT</c>): writes go from the caller's buffer to the disk without
    /// the page cache's copy. Every write must then be in whole, aligned blocks. Returns false where that is not available (other
    /// systems, tmpfs), leaving the file as it was.
    /// </summary>
    public static bool TryEnableDirectIo(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux()) return false;
        bool added = false;
        try
        {
            file.DangerousAddRef(ref added);
            int fd = (int)file.DangerousGetHandle();
            int flags = Fcntl(fd, GetStatusFlags, 0);
            return flags >= 0 && Fcntl(fd, SetStatusFlags, flags | DirectFlag) == 0;
        }
        finally
        {
            if (added) file.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static partial int SyncFileRange(int fd, long offset, long count, uint flags);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);

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
