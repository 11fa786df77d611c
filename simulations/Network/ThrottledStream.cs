namespace Hivemind.Simulations.Network;

/// <summary>
/// A stream whose writes cross an uplink clock and whose reads cross a downlink clock, in slices, so a connection wrapped in it behaves
/// as one over an access link of those rates (check-timing's transfer-bound case).
/// </summary>
/// <remarks>
/// A write slice is held back until the link would have carried it, then passed on; a read slice is handed to the caller only when the
/// link would have delivered it, so the sender's TCP and HTTP/2 windows fill and pace it, as on a slow link. Slices are the HTTP/2 frame
/// size, so a transfer's pace is even at the scale of a frame.
/// </remarks>
public sealed class ThrottledStream : Stream
{
    /// <summary>Largest slice that crosses the link in one step: HTTP/2's default frame size (RFC 9113 §4.2, SETTINGS_MAX_FRAME_SIZE).</summary>
    public const int SliceBytes = 16 * 1024;

    private readonly Stream _inner;
    private readonly LinkClock? _up;
    private readonly LinkClock? _down;

    /// <summary>Wraps <paramref name="inner"/> (owned: disposed with this stream); a null clock leaves that direction unthrottled.</summary>
    public ThrottledStream(Stream inner, LinkClock? up, LinkClock? down)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _up = up;
        _down = down;
    }

    /// <inheritdoc />
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc />
    public override bool CanWrite => _inner.CanWrite;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException("a throttled network stream has no length");

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException("a throttled network stream has no position");
        set => throw new NotSupportedException("a throttled network stream has no position");
    }

    /// <inheritdoc />
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_up is null)
        {
            await _inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            return;
        }

        for (int offset = 0; offset < buffer.Length; offset += SliceBytes)
        {
            var slice = buffer.Slice(offset, Math.Min(SliceBytes, buffer.Length - offset));
            await _up.CrossAsync(slice.Length, cancellationToken).ConfigureAwait(false);
            await _inner.WriteAsync(slice, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_down is null)
        {
            return await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        int read = await _inner.ReadAsync(buffer[..Math.Min(SliceBytes, buffer.Length)], cancellationToken).ConfigureAwait(false);
        await _down.CrossAsync(read, cancellationToken).ConfigureAwait(false);
        return read;
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("a throttled network stream cannot seek");

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException("a throttled network stream has no length");

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
