using System.Security.Cryptography;

namespace Hivemind.Coordinator.Admission;

/// <summary>Single-use join nonces bound to a public key, each valid for <see cref="Lifetime"/>.</summary>
public sealed class ChallengeBook
{
    /// <summary>How long a volunteer has to answer a challenge.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    /// <summary>Outstanding challenges kept at most; older ones are dropped first (a flood cannot grow memory).</summary>
    public const int MaxOutstanding = 10_000;

    private const int NonceBytes = 32;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, (byte[] PublicKey, DateTimeOffset Expires)> _open = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private readonly object _gate = new();

    public ChallengeBook(TimeProvider time) => _time = time;

    public (byte[] Nonce, DateTimeOffset Expires) Issue(byte[] publicKey)
    {
        var nonce = RandomNumberGenerator.GetBytes(NonceBytes);
        var expires = _time.GetUtcNow() + Lifetime;
        lock (_gate)
        {
            while (_open.Count >= MaxOutstanding && _order.TryDequeue(out var old)) _open.Remove(old);
            string key = Convert.ToHexString(nonce);
            _open[key] = ((byte[])publicKey.Clone(), expires);
            _order.Enqueue(key);
        }
        return (nonce, expires);
    }

    /// <summary>Consumes the nonce; returns null on success or the reason it cannot be used.</summary>
    public string? Redeem(byte[] nonce, byte[] publicKey)
    {
        string key = Convert.ToHexString(nonce);
        lock (_gate)
        {
            if (!_open.Remove(key, out var entry))
                return "the challenge nonce is unknown or was already used; call GetChallenge again";
            if (_time.GetUtcNow() > entry.Expires)
                return $"the challenge expired at {entry.Expires:O}; call GetChallenge again and answer within {Lifetime.TotalSeconds:0} s";
            if (!entry.PublicKey.AsSpan().SequenceEqual(publicKey))
                return "the challenge was issued to another public key";
            return null;
        }
    }
}
