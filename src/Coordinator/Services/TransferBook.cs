using System.Collections.Concurrent;
using Hivemind.Coordinator.Dashboard.Views;

namespace Hivemind.Coordinator.Services;

/// <summary>
/// The uploads and downloads in flight, with bytes done and total per volunteer, as the gRPC service moves them: what the
/// dashboard shows live. Its own small map, never the engine's lock or the store; thread-safe.
/// </summary>
public sealed class TransferBook
{
    private readonly ConcurrentDictionary<long, Transfer> _live = new();
    private readonly TimeProvider _time;
    private long _next;

    public TransferBook(TimeProvider time) => _time = time;

    /// <summary>Raised after a transfer begins, moves or ends (on the transfer's thread; keep handlers quick).</summary>
    public event Action? Changed;

    /// <summary>Registers a transfer of <paramref name="totalBytes"/>; dispose the handle when it ends, however it ends.</summary>
    public Transfer Begin(TransferDirection direction, string volunteerId, string workUnitId, long totalBytes)
    {
        var transfer = new Transfer(this, Interlocked.Increment(ref _next), direction, volunteerId, workUnitId, totalBytes, _time.GetUtcNow());
        _live[transfer.Id] = transfer;
        Changed?.Invoke();
        return transfer;
    }

    /// <summary>The book's clock (the engine's), to stamp what it shows.</summary>
    public DateTimeOffset Now => _time.GetUtcNow();

    /// <summary>The transfers in flight now, oldest first.</summary>
    public TransferView[] Current() =>
        [.. _live.Values.OrderBy(t => t.Id).Select(t => new TransferView(t.Direction == TransferDirection.Upload ? "upload" : "download",
            t.VolunteerId, t.WorkUnitId, t.BytesDone, t.TotalBytes, t.StartedAt))];

    internal void End(Transfer transfer)
    {
        if (_live.TryRemove(transfer.Id, out _)) Changed?.Invoke();
    }

    internal void Moved() => Changed?.Invoke();
}
