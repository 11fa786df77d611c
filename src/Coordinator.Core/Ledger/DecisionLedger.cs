using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Ledger;

namespace Hivemind.Coordinator.Ledger;

/// <summary>
/// The coordinator's public, append-only decision log (RFC 9162 Merkle tree over <see cref="LedgerEntry"/> bytes) kept in the
/// coordinator's SQLite store. Each entry is written in the same transaction as the decision it records; the tree is rebuilt from
/// the stored entries at start. Tree heads are signed with the coordinator's own Ed25519 key. Thread-safe.
/// </summary>
public sealed class DecisionLedger : IDisposable
{
    /// <summary>File (in the data directory) holding the coordinator's Ed25519 key, PKCS#8 PEM, owner-only permissions.</summary>
    public const string KeyFileName = "coordinator.key";

    private readonly CoordinatorStore _store;
    private readonly VolunteerIdentity _key;
    private readonly TimeProvider _time;
    private readonly MerkleTree _tree = new();
    private readonly Dictionary<long, long> _leafOfUpdate = [];
    private readonly Dictionary<string, long> _leafOfHash = new(StringComparer.Ordinal);
    private readonly object _gate = new();

    private DecisionLedger(CoordinatorStore store, VolunteerIdentity key, TimeProvider time)
    {
        _store = store;
        _key = key;
        _time = time;
    }

    /// <summary>Loads (or creates) the coordinator key in <paramref name="dataDirectory"/> and rebuilds the tree from the store.</summary>
    public static DecisionLedger Open(CoordinatorStore store, string dataDirectory, TimeProvider time)
    {
        var key = VolunteerIdentity.LoadOrCreate(Path.Combine(dataDirectory, KeyFileName));
        var ledger = new DecisionLedger(store, key, time);
        try
        {
            ledger.Load();
        }
        catch
        {
            ledger.Dispose();
            throw;
        }
        return ledger;
    }

    /// <summary>The coordinator's Ed25519 public key: volunteers and auditors pin it.</summary>
    public byte[] PublicKey => _key.PublicKey;

    /// <summary>Relays (issue 17): the per-chunk hash manifest of a payload, signed with this key (its own domain, see ChunkManifest).</summary>
    public Protocol.Relays.ChunkManifest SignChunkManifest(ulong version, ReadOnlySpan<byte> payload, int chunkBytes) =>
        Protocol.Relays.ChunkManifest.Create(_key, version, payload, chunkBytes);

    public long Size
    {
        get { lock (_gate) return _tree.Size; }
    }

    /// <summary>
    /// Runs <paramref name="decision"/> (its store writes) and appends the entry <paramref name="describe"/> makes of its result, in one
    /// durable transaction: both are stored or neither. Returns the decision's result.
    /// </summary>
    public T Record<T>(Func<T> decision, Func<T, LedgerEntry> describe)
    {
        lock (_gate)
        {
            T result = default!;
            byte[] bytes = [];
            LedgerEntry? entry = null;
            _store.Atomically(() =>
            {
                result = decision();
                entry = describe(result);
                bytes = entry.Encode();
                _store.AppendLedgerEntry(_tree.Size, bytes);
            });
            Index(entry!, bytes);
            return result;
        }
    }

    /// <summary>
    /// Group commit: runs every decision's store writes and appends its entry, in order, in ONE durable transaction (one fsync for the
    /// lot). All are stored or none: if any write fails nothing is committed and the exception propagates.
    /// </summary>
    public void RecordAll(IReadOnlyList<(Action Write, LedgerEntry Entry)> decisions)
    {
        lock (_gate)
        {
            var appended = new List<(LedgerEntry Entry, byte[] Bytes)>(decisions.Count);
            _store.Atomically(() =>
            {
                long leaf = _tree.Size;
                foreach (var (write, entry) in decisions)
                {
                    write();
                    byte[] bytes = entry.Encode();
                    _store.AppendLedgerEntry(leaf++, bytes);
                    appended.Add((entry, bytes));
                }
            });
            foreach (var (entry, bytes) in appended) Index(entry, bytes);
        }
    }

    /// <summary>Like <see cref="Record{T}"/> for a decision without a result.</summary>
    public void Record(Action decision, LedgerEntry entry) => Record(() => { decision(); return 0; }, _ => entry);

    /// <summary>Appends an entry whose decision has no store write of its own (one transaction).</summary>
    public void Append(LedgerEntry entry) => Record(() => { }, entry);

    /// <summary>The current tree head, freshly signed.</summary>
    public TreeHead Head()
    {
        lock (_gate) return SignLocked();
    }

    /// <summary>The receipt of an accepted update (by its update id), or null when the ledger has no entry for it.</summary>
    public LedgerReceipt? ReceiptForUpdate(long updateId)
    {
        lock (_gate)
        {
            if (!_leafOfUpdate.TryGetValue(updateId, out long leaf)) return null;
            var head = SignLocked();
            return new LedgerReceipt(leaf, _store.LedgerEntries(leaf, leaf + 1)[0], head, _tree.InclusionProof(leaf, head.TreeSize));
        }
    }

    /// <summary>Leaf index of an entry by its leaf hash, or null.</summary>
    public long? LeafOf(byte[] leafHash)
    {
        lock (_gate) return _leafOfHash.TryGetValue(Convert.ToHexString(leafHash), out long leaf) ? leaf : null;
    }

    /// <summary>Inclusion proof of <paramref name="leaf"/> in the tree of <paramref name="treeSize"/> leaves (0: the current tree, with its signed head).</summary>
    public (IReadOnlyList<byte[]> Proof, long TreeSize, TreeHead? Head, byte[] Entry) InclusionProof(long leaf, long treeSize)
    {
        lock (_gate)
        {
            var head = treeSize == 0 ? SignLocked() : null;
            long size = head?.TreeSize ?? treeSize;
            return (_tree.InclusionProof(leaf, size), size, head, _store.LedgerEntries(leaf, leaf + 1)[0]);
        }
    }

    public IReadOnlyList<byte[]> ConsistencyProof(long oldSize, long newSize)
    {
        lock (_gate) return _tree.ConsistencyProof(oldSize, newSize);
    }

    /// <summary>Entry bytes of leaves [start, min(end, size)).</summary>
    public IReadOnlyList<byte[]> Entries(long start, long end)
    {
        lock (_gate)
        {
            if (start < 0 || start > _tree.Size)
                throw new ArgumentOutOfRangeException(nameof(start), start, $"the ledger has {_tree.Size} entries; start must be in [0, {_tree.Size}]");
            return _store.LedgerEntries(start, Math.Min(end, _tree.Size));
        }
    }

    private TreeHead SignLocked() => TreeHead.Sign(_key, _tree.Size, _tree.Root(_tree.Size), _time.GetUtcNow().ToUnixTimeMilliseconds());

    private void Load()
    {
        long size = _store.LedgerSize();
        const int Page = 4096;
        for (long start = 0; start < size; start += Page)
        {
            foreach (var bytes in _store.LedgerEntries(start, Math.Min(size, start + Page)))
            {
                LedgerEntry entry;
                try
                {
                    entry = LedgerEntry.Decode(bytes);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"ledger entry {_tree.Size} in the coordinator store is corrupt ({e.Message}); the store was altered. " +
                                                   "Restore coordinator.db from a backup; `hivemind audit` shows what changed.", e);
                }
                Index(entry, bytes);
            }
        }
    }

    private void Index(LedgerEntry entry, byte[] bytes)
    {
        var leafHash = MerkleHash.Leaf(bytes);
        long leaf = _tree.Append(leafHash);
        _leafOfHash[Convert.ToHexString(leafHash)] = leaf;
        if (entry.Kind == LedgerEntryKind.Accept && entry.Integer(LedgerFields.Update) is { } update) _leafOfUpdate[update] = leaf;
    }

    public void Dispose() => _key.Dispose();
}
