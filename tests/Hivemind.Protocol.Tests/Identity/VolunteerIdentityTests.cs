using Hivemind.Protocol.Identity;

namespace Hivemind.Protocol.Tests.Identity;

/// <summary>The key file is created owner-only, reloads to the same identity, and unsafe or corrupt files are refused clearly.</summary>
public sealed class VolunteerIdentityTests
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public void CreatesKeyFileWithOwnerOnlyPermissionsAndReloadsSameIdentity()
    {
        using var dir = new TempDirectory();
        string path = dir.File("nested/volunteer.key");
        string id;
        using (var created = VolunteerIdentity.LoadOrCreate(path))
        {
            id = created.VolunteerId;
            Assert.Equal(64, id.Length);
            Assert.Equal(32, created.PublicKey.Length);
        }
        if (!OperatingSystem.IsWindows()) Assert.Equal(OwnerOnly, File.GetUnixFileMode(path));
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!)); // no temporary file left behind
        using var loaded = VolunteerIdentity.LoadOrCreate(path);
        Assert.Equal(id, loaded.VolunteerId);
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(path));
    }

    [Theory]
    [InlineData(UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.OtherWrite)]
    public void RefusesKeyFileOthersCanAccess(UnixFileMode extra)
    {
        if (OperatingSystem.IsWindows()) return;
        using var dir = new TempDirectory();
        string path = dir.File("volunteer.key");
        VolunteerIdentity.LoadOrCreate(path).Dispose();
        File.SetUnixFileMode(path, OwnerOnly | extra);
        var e = Assert.Throws<UnauthorizedAccessException>(() => VolunteerIdentity.LoadOrCreate(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("chmod 600", e.Message);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")]
    [InlineData("")]
    public void RefusesCorruptKeyFile(string content)
    {
        using var dir = new TempDirectory();
        string path = dir.File("volunteer.key");
        File.WriteAllText(path, content);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, OwnerOnly);
        var e = Assert.Throws<InvalidDataException>(() => VolunteerIdentity.LoadOrCreate(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void RefusesHugeFileWithoutReadingIt()
    {
        using var dir = new TempDirectory();
        string path = dir.File("volunteer.key");
        File.WriteAllBytes(path, new byte[100_000]);
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, OwnerOnly);
        var e = Assert.Throws<InvalidDataException>(() => VolunteerIdentity.Load(path));
        Assert.Contains("100000", e.Message);
    }

    [Fact]
    public void LoadOfMissingFileSaysHowToCreateOne()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<FileNotFoundException>(() => VolunteerIdentity.Load(dir.File("missing.key")));
        Assert.Contains("missing.key", e.Message);
    }

    [Fact]
    public void VerifyAcceptsOwnSignatureOnlyAndToleratesMalformedInputs()
    {
        using var identity = VolunteerIdentity.Create();
        byte[] data = "hello"u8.ToArray();
        byte[] signature = identity.Sign(data);
        Assert.True(VolunteerIdentity.Verify(identity.PublicKey, data, signature));
        Assert.False(VolunteerIdentity.Verify(identity.PublicKey, "hellp"u8, signature));
        Assert.False(VolunteerIdentity.Verify(identity.PublicKey[..31], data, signature));
        Assert.False(VolunteerIdentity.Verify(identity.PublicKey, data, signature[..63]));
        Assert.False(VolunteerIdentity.Verify(new byte[32], data, signature));
    }

    [Fact]
    public void VolunteerIdRoundTripsToPublicKey()
    {
        using var identity = VolunteerIdentity.Create();
        Assert.True(VolunteerIds.TryParse(identity.VolunteerId, out var key));
        Assert.Equal(identity.PublicKey, key);
        Assert.False(VolunteerIds.TryParse("zz" + identity.VolunteerId[2..], out _));
        Assert.False(VolunteerIds.TryParse(identity.VolunteerId[..62], out _));
    }
}
