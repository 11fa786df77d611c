using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Ledger;

namespace Hivemind.Protocol.Tests.Ledger;

public sealed class LedgerEntryTests
{
    private static LedgerEntry Sample() => new(LedgerEntryKind.Reject, 0x0102030405060708,
        [LedgerField.Of("v", 5L), LedgerField.Of("f", 1.5), LedgerField.Of("t", "é"), LedgerField.Of("b", new byte[] { 0xAA })]);

    [Fact]
    public void Bytes_follow_the_documented_layout()
    {
        // u8 format | u8 kind | i64 at | u16 count | fields (u8 name length, name, u8 type, value), big-endian.
        string expected =
            "01" + "04" + "0102030405060708" + "0004" +
            "01" + "76" + "01" + "0000000000000005" +
            "01" + "66" + "02" + "3ff8000000000000" +
            "01" + "74" + "03" + "00000002" + "c3a9" +
            "01" + "62" + "04" + "00000001" + "aa";
        Assert.Equal(expected, Convert.ToHexString(Sample().Encode()).ToLowerInvariant());
    }

    [Fact]
    public void Decoding_gives_back_every_field_and_re_encodes_to_the_same_bytes()
    {
        byte[] bytes = Sample().Encode();
        var back = LedgerEntry.Decode(bytes);
        Assert.Equal(LedgerEntryKind.Reject, back.Kind);
        Assert.Equal(5L, back.Integer("v"));
        Assert.Equal(1.5, back.Float("f"));
        Assert.Equal("é", back.Text("t"));
        Assert.Equal(new byte[] { 0xAA }, back.Bytes("b"));
        Assert.Equal(bytes, back.Encode());
    }

    [Fact]
    public void Hostile_bytes_are_refused_with_the_fault_named()
    {
        byte[] bytes = Sample().Encode();
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => LedgerEntry.Decode(bytes.AsSpan(0, bytes.Length - 1))).Message);
        Assert.Contains("follow the last field", Assert.Throws<InvalidDataException>(() => LedgerEntry.Decode([.. bytes, 0])).Message);
        var other = bytes.ToArray();
        other[0] = 9;
        Assert.Contains("format 9", Assert.Throws<InvalidDataException>(() => LedgerEntry.Decode(other)).Message);
        var badType = bytes.ToArray();
        badType[14] = 7; // the first field's type tag (after 12 header bytes, the name's length and the name)
        Assert.Contains("unknown type 7", Assert.Throws<InvalidDataException>(() => LedgerEntry.Decode(badType)).Message);
    }

    [Fact]
    public void A_field_whose_value_does_not_match_its_type_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => new LedgerEntry(LedgerEntryKind.Join, 0, [new LedgerField("x", LedgerValueType.Integer, "five")]));
        Assert.Contains("'x'", e.Message);
    }

    [Fact]
    public void A_tree_head_verifies_only_with_its_key_and_unchanged()
    {
        using var key = VolunteerIdentity.Create();
        using var other = VolunteerIdentity.Create();
        var root = MerkleHash.Leaf([1, 2, 3]);
        var head = TreeHead.Sign(key, 12, root, 1_700_000_000_000);
        Assert.True(head.VerifySignature(key.PublicKey));
        Assert.False(head.VerifySignature(other.PublicKey));
        Assert.False((head with { TreeSize = 13 }).VerifySignature(key.PublicKey));
        Assert.False((head with { TimestampUnixMs = head.TimestampUnixMs + 1 }).VerifySignature(key.PublicKey));
        Assert.False((head with { RootHash = MerkleHash.Leaf([1, 2, 4]) }).VerifySignature(key.PublicKey));
    }
}
