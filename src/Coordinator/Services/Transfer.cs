namespace Hivemind.Coordinator.Services;

/// <summary>One transfer in flight in a <see cref="TransferBook"/>: reports its byte count as it goes and leaves the book when disposed.</summary>
public sealed class Transfer : IProgress<long>, IDisposable
{
    private readonly TransferBook _book;
    private long _done;

    internal Transfer(TransferBook book, long id, TransferDirection direction, string volunteerId, string workUnitId, long totalBytes, DateTimeOffset startedAt)
    {
        _book = book;
        Id = id;
        Direction = direction;
        VolunteerId = volunteerId;
        WorkUnitId = workUnitId;
        TotalBytes = totalBytes;
        StartedAt = startedAt;
    }

    public long Id { get; }

    public TransferDirection Direction { get; }

    public string VolunteerId { get; }

    public string WorkUnitId { get; }

    public long TotalBytes { get; }

    public DateTimeOffset StartedAt { get; }

    public long BytesDone => Interlocked.Read(ref _done);

    /// <summary>Payload bytes moved so far.</summary>
    public void Report(long value)
    {
        Interlocked.Exchange(ref _done, value);
        _book.Moved();
    }

    public void Dispose() => _book.End(this);
}
