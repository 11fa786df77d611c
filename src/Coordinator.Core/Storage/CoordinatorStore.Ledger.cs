namespace Hivemind.Coordinator.Storage;

/// <summary>The decision ledger's rows: entry bytes by leaf index, written in the same transaction as the decision they record.</summary>
public sealed partial class CoordinatorStore
{
    /// <summary>
    /// Runs <paramref name="body"/> in one durable transaction: every store write inside it (a decision and its ledger entry) commits
    /// together or not at all, so a SIGKILL never leaves one without the other.
    /// </summary>
    public void Atomically(Action body)
    {
        lock (_gate) InTransaction(body);
    }

    /// <summary>Appends the entry at <paramref name="leafIndex"/> (the caller serialises appends; a gap or a duplicate fails the transaction).</summary>
    public void AppendLedgerEntry(long leafIndex, byte[] entry)
    {
        lock (_gate)
        {
            long expected = Convert.ToInt64(Scalar("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM ledger"));
            if (leafIndex != expected)
                throw new InvalidOperationException($"ledger leaf {leafIndex} would leave a gap or overwrite: the next leaf is {expected}");
            Execute("INSERT INTO ledger(leaf_index, entry) VALUES($i, $e)", ("$i", leafIndex), ("$e", entry));
        }
    }

    /// <summary>Entry bytes of leaves [<paramref name="start"/>, <paramref name="end"/>), in order.</summary>
    public IReadOnlyList<byte[]> LedgerEntries(long start, long end)
    {
        lock (_gate)
        {
            using var cmd = Command("SELECT leaf_index, entry FROM ledger WHERE leaf_index >= $s AND leaf_index < $e ORDER BY leaf_index", ("$s", start), ("$e", end));
            using var r = cmd.ExecuteReader();
            var list = new List<byte[]>();
            while (r.Read())
            {
                long index = r.GetInt64(0);
                if (index != start + list.Count)
                    throw new InvalidDataException($"the ledger has no leaf {start + list.Count} (the next stored leaf is {index}); the store was altered");
                list.Add((byte[])r[1]);
            }
            return list;
        }
    }

    public long LedgerSize()
    {
        lock (_gate) return Convert.ToInt64(Scalar("SELECT COUNT(*) FROM ledger"));
    }
}
