namespace Hivemind.Protocol.Identity;

/// <summary>Converts between a volunteer's public key and its id string (lowercase hex, 64 characters).</summary>
public static class VolunteerIds
{
    public static string FromPublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != VolunteerIdentity.PublicKeyBytes)
            throw new ArgumentException($"an Ed25519 public key has {VolunteerIdentity.PublicKeyBytes} bytes, got {publicKey.Length}.", nameof(publicKey));
        return Convert.ToHexStringLower(publicKey);
    }

    public static bool TryParse(string? volunteerId, out byte[] publicKey)
    {
        publicKey = [];
        if (volunteerId is null || volunteerId.Length != 2 * VolunteerIdentity.PublicKeyBytes) return false;
        try
        {
            publicKey = Convert.FromHexString(volunteerId);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
