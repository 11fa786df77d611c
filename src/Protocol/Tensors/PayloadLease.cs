namespace Hivemind.Protocol.Tensors;

/// <summary>
/// One reference to an encoded payload that lives in the first <see cref="Length"/> bytes of a buffer rented from a
/// <see cref="PayloadBufferPool"/>. The buffer goes back to the pool when the last lease on it is disposed, never before: whoever reads
/// the bytes (an upload and its retries, a download) holds its own lease from <see cref="Share"/> until it is done, so the next encoding
/// that rents the buffer cannot overwrite bytes still being read. The same counting as ParameterCache's entries and leases.
/// </summary>
/// <remarks>
/// Disposing a lease twice releases once. A lease made by <see cref="Unpooled"/> holds an array that no pool owns: disposing it only ends
/// this lease. Thread-safe.
/// </remarks>
public sealed class PayloadLease : IDisposable
{
    private readonly Shared _shared;
    private int _disposed;

    private PayloadLease(Shared shared) => _shared = shared;

    /// <summary>The buffer and its count of undisposed leases; the buffer goes back to its pool when the count reaches zero.</summary>
    private sealed class Shared(byte[] buffer, int length, PayloadBufferPool? pool)
    {
        public readonly byte[] Buffer = buffer;
        public readonly int Length = length;
        public readonly PayloadBufferPool? Pool = pool;
        public int References = 1;
    }

    /// <summary>Signature of an encoder that writes into <c>buffer</c> (at least the rented length) and returns the bytes written.</summary>
    public delegate int Encoder(byte[] buffer);

    /// <summary>
    /// Rents at least <paramref name="maxLength"/> bytes from <paramref name="pool"/>, lets <paramref name="encode"/> write the payload and
    /// returns the first lease on it. The buffer goes back if the encoder throws.
    /// </summary>
    public static PayloadLease Encode(PayloadBufferPool pool, int maxLength, Encoder encode)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ArgumentNullException.ThrowIfNull(encode);
        byte[] buffer = pool.Rent(maxLength);
        int length;
        try
        {
            length = encode(buffer);
            if (length < 0 || length > maxLength)
                throw new InvalidOperationException($"the encoder wrote {length} bytes into a buffer meant for at most {maxLength}.");
        }
        catch
        {
            pool.Return(buffer);
            throw;
        }
        return new PayloadLease(new Shared(buffer, length, pool));
    }

    /// <summary>A lease on <paramref name="bytes"/> themselves, which no pool owns (e.g. a small top-k payload from error feedback).</summary>
    public static PayloadLease Unpooled(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        return new PayloadLease(new Shared(bytes, bytes.Length, null));
    }

    /// <summary>Bytes of the payload (the buffer may be longer).</summary>
    public int Length => _shared.Length;

    /// <summary>Whether the buffer goes back to a pool once every lease on it is disposed.</summary>
    public bool IsPooled => _shared.Pool is not null;

    /// <summary>The payload; valid until this lease is disposed (read it through a <see cref="Share"/> to use it longer).</summary>
    public ReadOnlyMemory<byte> Bytes
    {
        get
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            return _shared.Buffer.AsMemory(0, _shared.Length);
        }
    }

    /// <summary>A read-only stream over the payload, valid until this lease is disposed.</summary>
    public MemoryStream OpenRead()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new MemoryStream(_shared.Buffer, 0, _shared.Length, writable: false);
    }

    /// <summary>Another lease on the same bytes, which keeps the buffer out of the pool until it is disposed too.</summary>
    public PayloadLease Share()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        // Only while the count is above zero: a buffer whose count reached zero may already be someone else's.
        for (int n = Volatile.Read(ref _shared.References); n > 0; n = Volatile.Read(ref _shared.References))
            if (Interlocked.CompareExchange(ref _shared.References, n + 1, n) == n) return new PayloadLease(_shared);
        throw new ObjectDisposedException(nameof(PayloadLease), "every lease on this payload was disposed while this one was shared.");
    }

    /// <summary>Ends this lease; the last one gives the buffer back to its pool. A second call does nothing.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        int left = Interlocked.Decrement(ref _shared.References);
        if (left < 0) throw new InvalidOperationException("a pooled payload was released more times than it was leased.");
        if (left == 0) _shared.Pool?.Return(_shared.Buffer);
    }
}
