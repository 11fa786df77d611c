namespace Hivemind.Protocol.Relays;

/// <summary>Which relays are still trusted with chunks, and what each delivered; shared by the workers.</summary>
internal sealed class RelayDownloadState(IReadOnlyList<IChunkSource> relays, int failuresBeforeSkip)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<IChunkSource, int> _failures = relays.Distinct().ToDictionary(r => r, _ => 0);
    private readonly HashSet<IChunkSource> _skipped = [];
    private readonly Dictionary<string, long> _bytes = [];
    private readonly List<RelayFault> _faults = [];
    private long _coordinatorBytes;

    public long CoordinatorBytes => Interlocked.Read(ref _coordinatorBytes);

    /// <summary>Starts at a different relay per chunk so parallel chunks spread over relays.</summary>
    public IEnumerable<IChunkSource> CandidatesFor(int index)
    {
        for (var k = 0; k < relays.Count; k++)
        {
            var relay = relays[(index + k) % relays.Count];
            lock (_gate)
                if (_skipped.Contains(relay)) continue;
            yield return relay;
        }
    }

    public void Delivered(IChunkSource relay, int bytes)
    {
        lock (_gate) _bytes[relay.Name] = _bytes.GetValueOrDefault(relay.Name) + bytes;
    }

    public void FromCoordinator(int bytes) => Interlocked.Add(ref _coordinatorBytes, bytes);

    public void Fault(IChunkSource relay, RelayFault fault)
    {
        lock (_gate)
        {
            _faults.Add(fault);
            if (fault.Kind == RelayFaultKind.HashMismatch || ++_failures[relay] >= failuresBeforeSkip) _skipped.Add(relay);
        }
    }

    public IReadOnlyDictionary<string, long> RelayBytes()
    {
        lock (_gate) return new Dictionary<string, long>(_bytes);
    }

    public IReadOnlyList<RelayFault> Faults()
    {
        lock (_gate) return [.. _faults];
    }
}
