using Hivemind.Protocol.Ledger;

namespace Hivemind.Protocol.Tests.Ledger;

/// <summary>
/// The tree against Certificate Transparency's published RFC 6962 / 9162 test vectors (the leaves, roots and proofs of
/// transparency-dev/merkle's testonly constants, used as data), then properties over every size up to 70.
/// </summary>
public sealed class MerkleTreeTests
{
    private static readonly string[] Leaves = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

    private static readonly string[] Roots =
    [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    private static MerkleTree Reference()
    {
        var tree = new MerkleTree();
        foreach (var leaf in Leaves) tree.Append(MerkleHash.Leaf(Convert.FromHexString(leaf)));
        return tree;
    }

    private static string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();

    [Fact]
    public void Roots_match_the_published_vectors_for_every_size()
    {
        var tree = Reference();
        for (int size = 0; size <= Leaves.Length; size++) Assert.Equal(Roots[size], Hex(tree.Root(size)));
    }

    [Theory]
    [InlineData(0, 8, new[] { "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" })]
    [InlineData(5, 8, new[] { "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" })]
    public void Inclusion_proofs_match_the_published_vectors(int index, int size, string[] expected)
    {
        var tree = Reference();
        var proof = tree.InclusionProof(index, size);
        Assert.Equal(expected, proof.Select(Hex));
        Assert.True(MerkleProofs.VerifyInclusion(tree.LeafHash(index), index, size, proof, Convert.FromHexString(Roots[size])));
    }

    [Theory]
    [InlineData(2, 8, new[] { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4" })]
    [InlineData(6, 8, new[] { "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7" })]
    [InlineData(2, 5, new[] { "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b" })]
    public void Consistency_proofs_match_the_published_vectors(int oldSize, int newSize, string[] expected)
    {
        var tree = Reference();
        var proof = tree.ConsistencyProof(oldSize, newSize);
        Assert.Equal(expected, proof.Select(Hex));
        Assert.True(MerkleProofs.VerifyConsistency(oldSize, newSize, Convert.FromHexString(Roots[oldSize]), Convert.FromHexString(Roots[newSize]), proof));
    }

    private const int MaxSize = 70;

    private static (MerkleTree Tree, byte[][] Roots) Grown()
    {
        var tree = new MerkleTree();
        var roots = new byte[MaxSize + 1][];
        roots[0] = tree.Root(0);
        for (int i = 0; i < MaxSize; i++)
        {
            tree.Append(MerkleHash.Leaf([(byte)i, (byte)(i * 7), 0x42]));
            roots[i + 1] = tree.Root(i + 1);
        }
        return (tree, roots);
    }

    [Fact]
    public void Every_inclusion_proof_verifies_and_any_change_to_it_fails()
    {
        var (tree, roots) = Grown();
        for (int size = 1; size <= MaxSize; size++)
        {
            for (int i = 0; i < size; i++)
            {
                var proof = tree.InclusionProof(i, size);
                var leaf = tree.LeafHash(i);
                Assert.True(MerkleProofs.VerifyInclusion(leaf, i, size, proof, roots[size]), $"leaf {i} of {size}");
                if (size > 1) Assert.False(MerkleProofs.VerifyInclusion(leaf, (i + 1) % size, size, proof, roots[size]), $"wrong index {i} of {size}");
                if (size < MaxSize) Assert.False(MerkleProofs.VerifyInclusion(leaf, i, size + 1, proof, roots[size + 1]), $"next head {i} of {size}");
                Assert.False(MerkleProofs.VerifyInclusion(MerkleHash.Leaf([0xff]), i, size, proof, roots[size]), $"wrong leaf {i} of {size}");
                if (proof.Count == 0) continue;
                var flipped = proof.Select(p => p.ToArray()).ToList();
                flipped[^1][5] ^= 1;
                Assert.False(MerkleProofs.VerifyInclusion(leaf, i, size, flipped, roots[size]), $"flipped {i} of {size}");
                Assert.False(MerkleProofs.VerifyInclusion(leaf, i, size, proof.Take(proof.Count - 1).ToList(), roots[size]), $"truncated {i} of {size}");
                Assert.False(MerkleProofs.VerifyInclusion(leaf, i, size, [.. proof, new byte[32]], roots[size]), $"extended {i} of {size}");
            }
        }
    }

    [Fact]
    public void Every_consistency_proof_verifies_and_any_change_to_it_fails()
    {
        var (tree, roots) = Grown();
        for (int newSize = 0; newSize <= MaxSize; newSize++)
        {
            for (int oldSize = 0; oldSize <= newSize; oldSize++)
            {
                var proof = tree.ConsistencyProof(oldSize, newSize);
                Assert.True(MerkleProofs.VerifyConsistency(oldSize, newSize, roots[oldSize], roots[newSize], proof), $"{oldSize} -> {newSize}");
                if (oldSize == 0 || oldSize == newSize) continue;
                // A head of another log (same size, other root) is not a prefix: that is what a fork looks like.
                Assert.False(MerkleProofs.VerifyConsistency(oldSize, newSize, MerkleHash.Leaf([9]), roots[newSize], proof), $"forked old {oldSize} -> {newSize}");
                Assert.False(MerkleProofs.VerifyConsistency(oldSize, newSize, roots[oldSize], MerkleHash.Leaf([9]), proof), $"forked new {oldSize} -> {newSize}");
                var flipped = proof.Select(p => p.ToArray()).ToList();
                flipped[0][3] ^= 0x80;
                Assert.False(MerkleProofs.VerifyConsistency(oldSize, newSize, roots[oldSize], roots[newSize], flipped), $"flipped {oldSize} -> {newSize}");
                Assert.False(MerkleProofs.VerifyConsistency(oldSize, newSize, roots[oldSize], roots[newSize], [.. proof, new byte[32]]), $"extended {oldSize} -> {newSize}");
                Assert.False(MerkleProofs.VerifyConsistency(oldSize, newSize, roots[oldSize], roots[newSize], proof.Take(proof.Count - 1).ToList()), $"truncated {oldSize} -> {newSize}");
            }
        }
    }

    [Fact]
    public void Degenerate_consistency_cases_follow_the_contract()
    {
        var (_, roots) = Grown();
        Assert.True(MerkleProofs.VerifyConsistency(4, 4, roots[4], roots[4], []));
        Assert.False(MerkleProofs.VerifyConsistency(4, 4, roots[4], roots[5], []));
        Assert.False(MerkleProofs.VerifyConsistency(5, 4, roots[5], roots[4], []));
        Assert.True(MerkleProofs.VerifyConsistency(0, 8, roots[0], roots[8], []));
        Assert.False(MerkleProofs.VerifyConsistency(0, 8, roots[1], roots[8], []));
        Assert.False(MerkleProofs.VerifyConsistency(3, 8, roots[3], roots[8], []));
    }

    [Fact]
    public void Out_of_range_requests_name_the_valid_range()
    {
        var tree = Reference();
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => tree.InclusionProof(8, 8));
        Assert.Contains("[0, 8)", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.Root(9));
        Assert.Throws<ArgumentOutOfRangeException>(() => tree.ConsistencyProof(5, 3));
        Assert.Throws<ArgumentException>(() => tree.Append(new byte[31]));
    }
}
