namespace Hivemind.Data.Tests;

/// <summary>DataSpec validation messages and value equality.</summary>
public sealed class DataSpecTests
{
    private static readonly SyntheticCorpusConfig Corpus = new(Seed: 3);
    private static readonly string Hash = new('a', 64);

    [Fact]
    public void ValidSpecsPass()
    {
        DataSpec.Synthetic(Corpus, DomainMix.Uniform(4), 1).Validate();
        DataSpec.HeldOut(Corpus, DomainMix.Single(4, 2), 1).Validate();
        DataSpec.File(Hash, 0, 10).Validate();
    }

    public static TheoryData<DataSpec, string> BadSpecs() => new()
    {
        { DataSpec.Synthetic(Corpus, [0.5, 0.5], 1), "The domain mix has 2 weights but the corpus has 4 domains; give one weight per domain." },
        { DataSpec.Synthetic(Corpus, [0.5, 0.5, 0.5, -0.5], 1), "Domain mix weight 3 is -0.5; weights must be finite and non-negative." },
        { DataSpec.Synthetic(Corpus, [0.5, 0.5, 0.5, 0], 1), "The domain mix sums to 1.5, not 1; normalise the weights." },
        { DataSpec.Synthetic(Corpus with { Domains = 0 }, [], 1), "Domains = 0 is out of range; use 1 to 128." },
        { DataSpec.Synthetic(Corpus, DomainMix.Uniform(4), 1) with { Corpus = null }, "A synthetic DataSpec needs Corpus (the SyntheticCorpusConfig); got null." },
        { DataSpec.Synthetic(Corpus, DomainMix.Uniform(4), 1) with { ByteLength = 5 }, "A synthetic DataSpec must not name a file (FileSha256 = null, ByteOffset = 0, ByteLength = 5); clear those fields." },
        { DataSpec.File("abc", 0, 10), "FileSha256 = 'abc' is not a SHA-256; give 64 lowercase hex digits (LmdSlicer computes it)." },
        { DataSpec.File(Hash.ToUpperInvariant(), 0, 10), $"FileSha256 = '{Hash.ToUpperInvariant()}' is not a SHA-256; give 64 lowercase hex digits (LmdSlicer computes it)." },
        { DataSpec.File(Hash, -1, 10), "ByteOffset = -1 is negative; use a line start in the decompressed stream (LmdSlicer gives them)." },
        { DataSpec.File(Hash, 0, 0), "ByteLength = 0 is not positive; a file slice must hold at least one line." },
        { DataSpec.File(Hash, 0, 1) with { Kind = (DataKind)7 }, "Kind = 7 is unknown; use Synthetic (0), File (1) or TokenSlice (2)." },
    };

    [Theory]
    [MemberData(nameof(BadSpecs))]
    public void BadSpecsSayWhatAndHowToFix(DataSpec spec, string message)
    {
        Assert.Equal(message, Assert.Throws<ArgumentException>(spec.Validate).Message);
    }

    [Fact]
    public void EqualityComparesTheMixByValue()
    {
        var a = DataSpec.Synthetic(Corpus, [0.25, 0.25, 0.25, 0.25], 9);
        var b = DataSpec.Synthetic(Corpus, DomainMix.Uniform(4), 9);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, DataSpec.HeldOut(Corpus, DomainMix.Uniform(4), 9));
        Assert.NotEqual(a, DataSpec.Synthetic(Corpus, DomainMix.Single(4, 0), 9));
        Assert.Contains("DomainMix = [0.25, 0.25, 0.25, 0.25]", a.ToString(), StringComparison.Ordinal);
    }
}
