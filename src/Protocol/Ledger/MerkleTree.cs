namespace Hivemind.Protocol.Ledger;

/// <summary>
/// An append-only Merkle tree of leaf hashes with RFC 9162's shape, keeping every complete subtree so roots and proofs for any
/// earlier size cost O(log n) hashes. Not thread-safe: its owner serialises appends and reads.
/// </summary>
public sealed class MerkleTree
{
    // _levels[l][i] = hash of the complete, aligned subtree of leaves [i·2^l, (i+1)·2^l).
    private readonly List<List<byte[]>> _levels = [[]];

    public long Size => _levels[0].Count;

    /// <summary>Appends a leaf hash (see <see cref="MerkleHash.Leaf"/>) and returns its index.</summary>
    public long Append(byte[] leafHash)
    {
        if (leafHash.Length != MerkleHash.Size)
            throw new ArgumentException($"a leaf hash has {MerkleHash.Size} bytes, not {leafHash.Length}", nameof(leafHash));
        long index = Size;
        _levels[0].Add(leafHash);
        for (int level = 0; _levels[level].Count % 2 == 0; level++)
        {
            if (_levels.Count == level + 1) _levels.Add([]);
            var nodes = _levels[level];
            _levels[level + 1].Add(MerkleHash.Node(nodes[^2], nodes[^1]));
        }
        return index;
    }

    public byte[] LeafHash(long index)
    {
        CheckSize(index + 1, nameof(index));
        return _levels[0][(int)index];
    }

    /// <summary>MTH(D[0:size]) for any size up to <see cref="Size"/>.</summary>
    public byte[] Root(long size)
    {
        CheckSize(size, nameof(size));
        return size == 0 ? MerkleHash.EmptyRoot() : Hash(0, size);
    }

    /// <summary>RFC 9162 §2.1.3.1: the audit path of leaf <paramref name="index"/> in the tree of the first <paramref name="size"/> leaves.</summary>
    public IReadOnlyList<byte[]> InclusionProof(long index, long size)
    {
        CheckSize(size, nameof(size));
        if (index < 0 || index >= size)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"leaf index must be in [0, {size}) for a tree of {size} leaves");
        var path = new List<byte[]>();
        Path(index, 0, size, path);
        return path;
    }

    /// <summary>RFC 9162 §2.1.4.1: proof that the tree of <paramref name="oldSize"/> leaves is a prefix of the one of <paramref name="newSize"/>.</summary>
    public IReadOnlyList<byte[]> ConsistencyProof(long oldSize, long newSize)
    {
        CheckSize(newSize, nameof(newSize));
        if (oldSize < 0 || oldSize > newSize)
            throw new ArgumentOutOfRangeException(nameof(oldSize), oldSize, $"the old size must be in [0, {newSize}] (the new size)");
        var proof = new List<byte[]>();
        if (oldSize > 0 && oldSize < newSize) SubProof(oldSize, 0, newSize, complete: true, proof);
        return proof;
    }

    private void Path(long m, long start, long end, List<byte[]> path)
    {
        long n = end - start;
        if (n == 1) return;
        long k = MerkleHash.Split(n);
        if (m < k)
        {
            Path(m, start, start + k, path);
            path.Add(Hash(start + k, end));
        }
        else
        {
            Path(m - k, start + k, end, path);
            path.Add(Hash(start, start + k));
        }
    }

    private void SubProof(long m, long start, long end, bool complete, List<byte[]> proof)
    {
        long n = end - start;
        if (m == n)
        {
            if (!complete) proof.Add(Hash(start, end));
            return;
        }
        long k = MerkleHash.Split(n);
        if (m <= k)
        {
            SubProof(m, start, start + k, complete, proof);
            proof.Add(Hash(start + k, end));
        }
        else
        {
            SubProof(m - k, start + k, end, complete: false, proof);
            proof.Add(Hash(start, start + k));
        }
    }

    /// <summary>MTH(D[start:end]); complete aligned subtrees come from the stored levels, so only the right edge is hashed.</summary>
    private byte[] Hash(long start, long end)
    {
        long n = end - start;
        if ((n & (n - 1)) == 0 && start % n == 0)
        {
            int level = System.Numerics.BitOperations.Log2((ulong)n);
            return _levels[level][(int)(start >> level)];
        }
        long k = MerkleHash.Split(n);
        return MerkleHash.Node(Hash(start, start + k), Hash(start + k, end));
    }

    private void CheckSize(long size, string name)
    {
        if (size < 0 || size > Size)
            throw new ArgumentOutOfRangeException(name, size, $"the tree has {Size} leaves; ask for a size in [0, {Size}]");
    }
}
