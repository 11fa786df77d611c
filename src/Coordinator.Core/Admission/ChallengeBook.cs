using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Hivemind.Coordinator.Admission;

/// <summary>
/// Join nonces that need no storage until they are used: each nonce carries its expiry and a MAC (keyed by a secret of this
/// process) over that expiry, its random part and the public key it was issued to. Issuing therefore holds no state, so no
/// flood of GetChallenge calls can evict an honest volunteer's nonce; only redeemed nonces are remembered (bounded, and
/// only after the join signature verified) to keep them single-use.
/// </summary>
public sealed class ChallengeBook
{
    /// <summary>How long a volunteer has to answer a challenge.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);

    /// <summary>Used nonces remembered at most (they are forgotten once expired); beyond it joins wait instead of forgetting one early.</summary>
    public const int MaxRemembered = 100_000;

    private const int ExpiryBytes = 8;
    private const int RandomBytes = 8;
    private const int MacBytes = 16;

    private readonly TimeProvider _time;
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly Dictionary<string, DateTimeOffset> _used = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    public ChallengeBook(TimeProvider time) => _time = time;

    /// <summary>A nonce of <see cref="Protocol.Identity.JoinChallenge.NonceBytes"/> bytes bound to <paramref name="publicKey"/>.</summary>
    public (byte[] Nonce, DateTimeOffset Expires) Issue(byte[] publicKey)
    {
        var expires = _time.GetUtcNow() + Lifetime;
        var nonce = new byte[ExpiryBytes + RandomBytes + MacBytes];
        BinaryPrimitives.WriteInt64BigEndian(nonce, expires.ToUnixTimeMilliseconds());
        RandomNumberGenerator.Fill(nonce.AsSpan(ExpiryBytes, RandomBytes));
        Mac(nonce.AsSpan(0, ExpiryBytes + RandomBytes), publicKey).CopyTo(nonce.AsSpan(ExpiryBytes + RandomBytes));
        return (nonce, expires);
    }

    /// <summary>Null when this process issued the nonce to this key and it has not expired; otherwise why not. Changes nothing.</summary>
    public string? Check(byte[] nonce, byte[] publicKey)
    {
        if (nonce.Length != ExpiryBytes + RandomBytes + MacBytes)
            return $"the challenge nonce has {nonce.Length} bytes, not {ExpiryBytes + RandomBytes + MacBytes}; call GetChallenge again";
        var expected = Mac(nonce.AsSpan(0, ExpiryBytes + RandomBytes), publicKey);
        if (!CryptographicOperations.FixedTimeEquals(expected, nonce.AsSpan(ExpiryBytes + RandomBytes)))
            return "the challenge nonce was not issued by this coordinator to this public key (or the coordinator restarted); call GetChallenge again";
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(nonce));
        if (_time.GetUtcNow() > expires)
            return $"the challenge expired at {expires:O}; call GetChallenge again and answer within {Lifetime.TotalSeconds:0} s";
        return null;
    }

    /// <summary>Marks a checked nonce used (call after the join signature verified); null on success, else why it cannot be used.</summary>
    public string? MarkUsed(byte[] nonce)
    {
        string key = Convert.ToHexString(nonce);
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_used.ContainsKey(key)) return "the challenge nonce was already used; call GetChallenge again";
            if (_used.Count >= MaxRemembered)
            {
                foreach (var old in _used.Where(p => p.Value < now).Select(p => p.Key).ToList()) _used.Remove(old);
                if (_used.Count >= MaxRemembered) return null; // reported by the caller as rate-limited
            }
            _used[key] = DateTimeOffset.FromUnixTimeMilliseconds(BinaryPrimitives.ReadInt64BigEndian(nonce));
            return null;
        }
    }

    /// <summary>True when the used-nonce set is full of unexpired entries (joins should wait).</summary>
    public bool Full
    {
        get { lock (_gate) return _used.Count >= MaxRemembered; }
    }

    /// <summary>Check then mark: the single-use redemption the join performs.</summary>
    public string? Redeem(byte[] nonce, byte[] publicKey) => Check(nonce, publicKey) ?? MarkUsed(nonce);

    private byte[] Mac(ReadOnlySpan<byte> expiryAndRandom, ReadOnlySpan<byte> publicKey)
    {
        Span<byte> message = stackalloc byte[expiryAndRandom.Length + publicKey.Length];
        expiryAndRandom.CopyTo(message);
        publicKey.CopyTo(message[expiryAndRandom.Length..]);
        return HMACSHA256.HashData(_key, message)[..MacBytes];
    }
}
