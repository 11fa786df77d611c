using System.Security.Cryptography;
using NSec.Cryptography;

namespace Hivemind.Protocol.Identity;

/// <summary>A volunteer's Ed25519 key pair: the volunteer <em>is</em> its public key.</summary>
public sealed class VolunteerIdentity : IDisposable
{
    /// <summary>Ed25519 public key length in bytes.</summary>
    public const int PublicKeyBytes = 32;

    /// <summary>Ed25519 signature length in bytes.</summary>
    public const int SignatureBytes = 64;

    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    private readonly Key _key;

    private VolunteerIdentity(Key key)
    {
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        VolunteerId = VolunteerIds.FromPublicKey(PublicKey);
    }

    /// <summary>The 32 raw public key bytes, as sent in Join and signed into every envelope.</summary>
    public byte[] PublicKey { get; }

    /// <summary>Lowercase hex of <see cref="PublicKey"/>.</summary>
    public string VolunteerId { get; }

    /// <summary>A new key held only in memory (tests, simulator).</summary>
    public static VolunteerIdentity Create() => new(Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }));

    /// <summary>The key from <paramref name="path"/>, or a new one written there with owner-only permissions.</summary>
    public static VolunteerIdentity LoadOrCreate(string path) => KeyFile.LoadOrCreate(path);

    /// <summary>The key from an existing file; refuses one that others can read or that is corrupt.</summary>
    public static VolunteerIdentity Load(string path) => KeyFile.Load(path);

    internal static VolunteerIdentity FromPkcs8Pem(ReadOnlySpan<byte> pem, string source)
    {
        if (!Key.TryImport(Algorithm, pem, KeyBlobFormat.PkixPrivateKeyText, out var key, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport }) || key is null)
            throw new InvalidDataException($"key file '{source}' is not an Ed25519 private key in PKCS#8 PEM form (it is corrupt or of another kind); restore it from a backup, or delete it to create a new identity (a new identity starts with no reputation).");
        return new VolunteerIdentity(key);
    }

    internal byte[] ExportPkcs8Pem() => _key.Export(KeyBlobFormat.PkixPrivateKeyText);

    public byte[] Sign(ReadOnlySpan<byte> data) => Algorithm.Sign(_key, data);

    /// <summary>True when <paramref name="signature"/> is <paramref name="publicKey"/>'s Ed25519 signature of <paramref name="data"/>; false for any malformed key or signature.</summary>
    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> data, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeyBytes || signature.Length != SignatureBytes) return false;
        if (!NSec.Cryptography.PublicKey.TryImport(Algorithm, publicKey, KeyBlobFormat.RawPublicKey, out var key) || key is null) return false;
        return Algorithm.Verify(key, data, signature);
    }

    public void Dispose() => _key.Dispose();
}
