namespace Hivemind.Protocol.Identity;

/// <summary>Reads and writes the volunteer key file (PKCS#8 PEM, owner-only permissions).</summary>
internal static class KeyFile
{
    /// <summary>A PEM Ed25519 key is about 120 bytes; anything far larger is not a key file.</summary>
    private const int MaxKeyFileBytes = 4096;

    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode OthersAccess =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static VolunteerIdentity LoadOrCreate(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (File.Exists(path)) return Load(path);
        var identity = VolunteerIdentity.Create();
        try
        {
            Write(path, identity.ExportPkcs8Pem());
            return identity;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process created the key first; both must end up with the same identity.
            identity.Dispose();
            return Load(path);
        }
        catch
        {
            identity.Dispose();
            throw;
        }
    }

    public static VolunteerIdentity Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"key file '{path}' does not exist; run the volunteer once without it to create one.", path);
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & OthersAccess) != 0)
                throw new UnauthorizedAccessException($"key file '{path}' has permissions {Octal(mode)}, so other users can access the private key; run 'chmod 600 {path}' (and consider the key compromised if others could read it).");
        }
        long length = new FileInfo(path).Length;
        if (length > MaxKeyFileBytes)
            throw new InvalidDataException($"key file '{path}' is {length} bytes, larger than any Ed25519 key file ({MaxKeyFileBytes} bytes at most); check the path.");
        return VolunteerIdentity.FromPkcs8Pem(File.ReadAllBytes(path), path);
    }

    private static void Write(string path, byte[] pem)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, OwnerOnly | UnixFileMode.UserExecute);
        }
        // Written under a temporary name then moved, so a crash never leaves a half-written key behind.
        string temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        try
        {
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(pem);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: false);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static string Octal(UnixFileMode mode) => Convert.ToString((int)mode, 8).PadLeft(4, '0');
}
