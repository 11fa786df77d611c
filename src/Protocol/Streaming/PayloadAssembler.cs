using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Hivemind.Protocol.Errors;

namespace Hivemind.Protocol.Streaming;

/// <summary>
/// Reassembles a payload from stream chunks, hashing while receiving, and checks length and SHA-256 at the end.
/// Memory grows with what actually arrives, not with what the sender declared.
/// </summary>
public sealed class PayloadAssembler : IDisposable
{
    /// <summary>Declared lengths up to this are allocated at once; above it the buffer doubles as data arrives, so a lying sender cannot make us allocate.</summary>
    private const int PreallocateBytes = 16 << 20;

    /// <summary>With a verified length, hashing runs on another core in slices of this size while the next chunks arrive.</summary>
    private const int HashSliceBytes = 4 << 20;

    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly bool _pipelined;
    private Task _hashing = Task.CompletedTask;
    private long _hashed;
    private readonly byte[] _expectedSha256;
    private readonly int _maxChunkBytes;
    private readonly string _what;
    private Memory<byte> _buffer;
    private bool _completed;

    /// <param name="expectedLength">Length the signed envelope or metadata declared; must be within <paramref name="maxBytes"/>.</param>
    /// <param name="expectedSha256">SHA-256 the sender declared.</param>
    /// <param name="maxBytes">The limit for this kind of payload (<see cref="ProtocolLimits.MaxUpdateBytes"/> or <see cref="ProtocolLimits.MaxDownloadBytes"/>).</param>
    /// <param name="maxChunkBytes">Largest chunk accepted.</param>
    /// <param name="what">Names the payload in errors, e.g. "update for work unit r3-u7".</param>
    /// <param name="lengthIsVerified">True when the coordinator computed <paramref name="expectedLength"/> itself (an update of a leased shard): the whole buffer is then allocated at once.</param>
    public PayloadAssembler(long expectedLength, ReadOnlySpan<byte> expectedSha256, long maxBytes, int maxChunkBytes, string what = "payload", bool lengthIsVerified = false)
        : this(expectedLength, expectedSha256, maxBytes, maxChunkBytes, what, lengthIsVerified, null)
    {
    }

    /// <summary>
    /// Assembles into <paramref name="destination"/> (the receiver's own buffer, e.g. pooled, at least <paramref name="expectedLength"/>
    /// bytes) instead of a new array; only for a length the receiver computed itself. The receiver may read the prefix of
    /// <see cref="ReceivedLength"/> bytes while later chunks arrive: an appended byte is never written again.
    /// </summary>
    public PayloadAssembler(long expectedLength, ReadOnlySpan<byte> expectedSha256, long maxBytes, int maxChunkBytes, string what, byte[] destination)
        : this(expectedLength, expectedSha256, maxBytes, maxChunkBytes, what, lengthIsVerified: true, (destination ?? throw new ArgumentNullException(nameof(destination))).AsMemory())
    {
    }

    /// <summary>As the <c>byte[]</c> destination, into any memory the receiver owns (e.g. a pinned, block-aligned buffer it writes to disk with direct I/O).</summary>
    public PayloadAssembler(long expectedLength, ReadOnlySpan<byte> expectedSha256, long maxBytes, int maxChunkBytes, string what, Memory<byte> destination)
        : this(expectedLength, expectedSha256, maxBytes, maxChunkBytes, what, lengthIsVerified: true, (Memory<byte>?)destination)
    {
    }

    private PayloadAssembler(long expectedLength, ReadOnlySpan<byte> expectedSha256, long maxBytes, int maxChunkBytes, string what, bool lengthIsVerified, Memory<byte>? destination)
    {
        _what = what;
        if (expectedSha256.Length != SHA256.HashSizeInBytes)
            throw new ProtocolException(RejectReason.MalformedRequest, $"the declared hash of the {what} has {expectedSha256.Length} bytes, a SHA-256 has {SHA256.HashSizeInBytes}");
        long limit = Math.Min(maxBytes, Array.MaxLength);
        if (expectedLength < 0 || expectedLength > limit)
            throw new ProtocolException(RejectReason.Oversized, $"the {what} declares {expectedLength} bytes, above the limit of {limit}");
        ExpectedLength = expectedLength;
        _expectedSha256 = expectedSha256.ToArray();
        _maxChunkBytes = maxChunkBytes;
        // Uninitialised: only the received prefix is ever read, and Complete requires it to be the whole buffer.
        _pipelined = lengthIsVerified;
        if (destination is { } given && given.Length < expectedLength)
            throw new ArgumentException($"the destination holds {given.Length} bytes; the {what} has {expectedLength}.", nameof(destination));
        _buffer = destination ?? GC.AllocateUninitializedArray<byte>((int)(lengthIsVerified ? expectedLength : Math.Min(expectedLength, PreallocateBytes)));
    }

    public long ExpectedLength { get; }

    public long ReceivedLength { get; private set; }

    /// <summary>Adds the next chunk; throws <see cref="RejectReason.Oversized"/> for a chunk above the limit or bytes beyond the declared length.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (chunk.Length > _maxChunkBytes)
            throw new ProtocolException(RejectReason.Oversized, $"a chunk of the {_what} has {chunk.Length} bytes, above the chunk limit of {_maxChunkBytes}");
        if (chunk.Length > ExpectedLength - ReceivedLength)
            throw new ProtocolException(RejectReason.Oversized, $"the {_what} sent more than the {ExpectedLength} bytes it declared (at least {ReceivedLength + chunk.Length})");
        long needed = ReceivedLength + chunk.Length;
        if (needed > _buffer.Length)
        {
            var grown = GC.AllocateUninitializedArray<byte>((int)Math.Min(ExpectedLength, Math.Max(needed, 2L * _buffer.Length)));
            _buffer.Span[..(int)ReceivedLength].CopyTo(grown);
            _buffer = grown;
        }
        var target = _buffer.Span.Slice((int)ReceivedLength, chunk.Length);
        // A receiver may parse a chunk straight into its place (the coordinator's SubmitUpdate does): then there is nothing to copy.
        if (!(chunk.Overlaps(target, out int offset) && offset == 0)) chunk.CopyTo(target);
        ReceivedLength = needed;
        if (!_pipelined)
        {
            _hash.AppendData(chunk);
            _hashed = ReceivedLength;
        }
        else if (ReceivedLength - _hashed >= HashSliceBytes && _hashing.IsCompleted)
        {
            _hashing.GetAwaiter().GetResult(); // surfaces a failure of the previous slice
            // The buffer never moves when the length is verified, so the slice stays valid while more chunks land after it.
            int from = (int)_hashed, count = (int)(ReceivedLength - _hashed);
            _hashed = ReceivedLength;
            var slice = _buffer.Slice(from, count);
            _hashing = Task.Run(() => _hash.AppendData(slice.Span));
        }
    }

    /// <summary>The payload, once complete and matching its hash; throws <see cref="RejectReason.TruncatedStream"/> or <see cref="RejectReason.HashMismatch"/>.</summary>
    /// <remarks>With a caller's destination this is the array behind it (a copy only when it is part of a larger one); use <see cref="CompleteInPlace"/> to check without one.</remarks>
    public byte[] Complete()
    {
        CompleteInPlace();
        return MemoryMarshal.TryGetArray<byte>(_buffer, out var whole) && whole.Offset == 0 && whole.Count == whole.Array!.Length ? whole.Array : _buffer.ToArray();
    }

    /// <summary>Checks that the payload is complete and matches its hash, leaving it where it was assembled; throws as <see cref="Complete"/>.</summary>
    public void CompleteInPlace()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        _hashing.GetAwaiter().GetResult();
        if (ReceivedLength != ExpectedLength)
            throw new ProtocolException(RejectReason.TruncatedStream, $"the {_what} stream ended after {ReceivedLength} of {ExpectedLength} declared bytes");
        if (_hashed < ReceivedLength) _hash.AppendData(_buffer.Span[(int)_hashed..(int)ReceivedLength]);
        _hashed = ReceivedLength;
        byte[] actual = _hash.GetHashAndReset();
        if (!CryptographicOperations.FixedTimeEquals(actual, _expectedSha256))
            throw new ProtocolException(RejectReason.HashMismatch, $"the {_what} has SHA-256 {Convert.ToHexStringLower(actual)}, but {Convert.ToHexStringLower(_expectedSha256)} was declared");
    }

    public void Dispose()
    {
        _completed = true;
        // A slice may still be hashing after a failed stream; it must finish before the hash object goes.
        _hashing.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Wait();
        _hash.Dispose();
    }
}
