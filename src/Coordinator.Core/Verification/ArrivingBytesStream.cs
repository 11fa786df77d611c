namespace Hivemind.Coordinator.Verification;

/// <summary>
/// A read-only, seekable view of the first <c>length</c> bytes of a buffer that is still being filled in order: a read waits (through
/// <c>waitFor</c>) until the bytes it needs have arrived, so a decoder can run while a payload streams in.
/// </summary>
/// <param name="buffer">The buffer being filled; a byte never changes once it has arrived.</param>
/// <param name="length">The payload's exact length.</param>
/// <param name="waitFor">Blocks until at least the given number of bytes are in and returns how many are; throws when the stream failed.</param>
internal sealed class ArrivingBytesStream(ReadOnlyMemory<byte> buffer, long length, Func<long, long> waitFor) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), value, "a position is never negative.");
    }

    public override int Read(Span<byte> destination)
    {
        if (_position >= length || destination.IsEmpty) return 0;
        long filled = Math.Min(length, waitFor(_position + 1));
        int count = (int)Math.Min(destination.Length, filled - _position);
        buffer.Span.Slice((int)_position, count).CopyTo(destination);
        _position += count;
        return count;
    }

    public override int Read(byte[] destination, int offset, int count) => Read(destination.AsSpan(offset, count));

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] source, int offset, int count) => throw new NotSupportedException();
}
