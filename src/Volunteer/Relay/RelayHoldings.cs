namespace Hivemind.Volunteer.Relay;

/// <summary>
/// The parameter payloads a relay serves, by (version, SHA-256): the ones its volunteer downloaded and verified, and the one it is
/// downloading now (requests for it wait, bounded). Nothing else is served, so a relay never passes on bytes it did not check.
/// </summary>
public sealed class RelayHoldings(RelayOptions options, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(ulong Version, string Sha), Slot> _slots = [];
    private readonly List<(ulong Version, string Sha)> _heldOrder = [];

    /// <summary>The volunteer is downloading this content: requests for it wait instead of failing.</summary>
    public void Expect(ulong version, ReadOnlySpan<byte> sha256)
    {
        lock (_gate) SlotFor((version, Convert.ToHexStringLower(sha256)), expected: true);
    }

    /// <summary>The volunteer verified <paramref name="payload"/> against <paramref name="sha256"/> (the coordinator's hash): serve it.</summary>
    public void Hold(ulong version, ReadOnlySpan<byte> sha256, byte[] payload)
    {
        var key = (version, Convert.ToHexStringLower(sha256));
        lock (_gate)
        {
            var slot = SlotFor(key, expected: true);
            if (!slot.Payload.Task.IsCompleted) _heldOrder.Add(key);
            slot.Payload.TrySetResult(payload);
            while (_heldOrder.Count > options.MaxHeld)
            {
                _slots.Remove(_heldOrder[0]);
                _heldOrder.RemoveAt(0);
            }
        }
    }

    /// <summary>The volunteer's own download failed: waiting requests get NOT_FOUND now, not after the wait.</summary>
    public void Abandon(ulong version, ReadOnlySpan<byte> sha256)
    {
        lock (_gate)
        {
            var key = (version, Convert.ToHexStringLower(sha256));
            if (_slots.TryGetValue(key, out var slot) && !slot.Payload.Task.IsCompleted)
            {
                _slots.Remove(key);
                slot.Payload.TrySetResult(null);
            }
        }
    }

    /// <summary>The payload, after waiting at most <see cref="RelayOptions.WaitForDownload"/> for one in progress; null when not held.</summary>
    public async Task<byte[]?> WaitAsync(ulong version, ReadOnlyMemory<byte> sha256, CancellationToken ct)
    {
        var key = (version, Convert.ToHexStringLower(sha256.Span));
        Slot? slot;
        lock (_gate)
        {
            if (!_slots.TryGetValue(key, out slot))
            {
                // The coordinator lists a relay when it leases the unit; a downloader may ask before this volunteer has even read its
                // reply. Wait for it too, but only for a bounded number of distinct contents.
                if (_slots.Values.Count(s => !s.Payload.Task.IsCompleted) >= options.MaxPending) return null;
                slot = SlotFor(key, expected: false);
            }
        }
        try
        {
            return await slot.Payload.Task.WaitAsync(options.WaitForDownload, time, ct);
        }
        catch (TimeoutException)
        {
            lock (_gate)
            {
                if (!slot.Expected && !slot.Payload.Task.IsCompleted) _slots.Remove(key);
            }
            return null;
        }
    }

    private Slot SlotFor((ulong, string) key, bool expected)
    {
        if (!_slots.TryGetValue(key, out var slot)) _slots[key] = slot = new Slot();
        slot.Expected |= expected;
        return slot;
    }

    private sealed class Slot
    {
        public TaskCompletionSource<byte[]?> Payload { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Expected { get; set; }
    }
}
