using System.Text;

namespace Hivemind.Data;

/// <summary>Names a work unit's data without carrying it: plain fields, so it can go on the wire.</summary>
/// <param name="Kind">Synthetic corpus or file.</param>
/// <param name="Corpus">Synthetic only: the corpus config (chains are rebuilt from it).</param>
/// <param name="DomainMix">Synthetic only: weight of each domain; each row draws its domain from it.</param>
/// <param name="Split">Synthetic only: train or held-out; the split is mixed into every stream seed.</param>
/// <param name="SliceSeed">Synthetic only: which slice of the infinite stream; different seeds, independent rows.</param>
/// <param name="FileSha256">File: lowercase hex SHA-256 of the file as stored (compressed). Token slice: SHA-256 of the slice's bytes.</param>
/// <param name="ByteOffset">File: start of the range in the decompressed stream; a line start. Token slice: 0 (the whole slice).</param>
/// <param name="ByteLength">File: length of the range in the decompressed stream; ends at a line end or the stream end. Token slice: the slice's length in bytes.</param>
public sealed record DataSpec(
    DataKind Kind,
    SyntheticCorpusConfig? Corpus,
    double[]? DomainMix,
    DataSplit Split,
    long SliceSeed,
    string? FileSha256,
    long ByteOffset,
    long ByteLength)
{
    private const int Sha256HexLength = 64;

    /// <summary>A training slice of the synthetic corpus.</summary>
    public static DataSpec Synthetic(SyntheticCorpusConfig corpus, IReadOnlyList<double> domainMix, long sliceSeed) =>
        new(DataKind.Synthetic, corpus, domainMix.ToArray(), DataSplit.Train, sliceSeed, null, 0, 0);

    /// <summary>A held-out slice of the synthetic corpus: its streams are seeded apart from every training slice.</summary>
    public static DataSpec HeldOut(SyntheticCorpusConfig corpus, IReadOnlyList<double> domainMix, long sliceSeed) =>
        new(DataKind.Synthetic, corpus, domainMix.ToArray(), DataSplit.HeldOut, sliceSeed, null, 0, 0);

    /// <summary>A byte range of an LMD file's decompressed stream (see <see cref="LmdSlicer"/>).</summary>
    public static DataSpec File(string fileSha256, long byteOffset, long byteLength) =>
        new(DataKind.File, null, null, DataSplit.Train, 0, fileSha256, byteOffset, byteLength);

    /// <summary>Token slice only: bytes per stored token id (2 or 4, little-endian), as the corpus's token file stores them.</summary>
    public int TokenBytes { get; init; }

    /// <summary>Token slice only: the vocabulary the ids come from (a model trains on them only with this VocabSize).</summary>
    public int VocabSize { get; init; }

    /// <summary>
    /// A whole content-addressed slice of a pre-tokenized corpus (<see cref="TokenCorpus"/>): <paramref name="byteLength"/> bytes of
    /// <paramref name="tokenBytes"/>-byte ids, whose rows are drawn from <paramref name="sliceSeed"/>.
    /// </summary>
    public static DataSpec TokenSlice(string sliceSha256, long byteLength, int tokenBytes, int vocabSize, long sliceSeed) =>
        new(DataKind.TokenSlice, null, null, DataSplit.Train, sliceSeed, sliceSha256, 0, byteLength) { TokenBytes = tokenBytes, VocabSize = vocabSize };

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field, its value and the fix.</summary>
    public void Validate()
    {
        switch (Kind)
        {
            case DataKind.Synthetic:
                if (Corpus is null)
                {
                    throw new ArgumentException("A synthetic DataSpec needs Corpus (the SyntheticCorpusConfig); got null.");
                }
                Corpus.Validate();
                Hivemind.Data.DomainMix.Validate(this.DomainMix, Corpus.Domains);
                if (!Enum.IsDefined(Split))
                {
                    throw new ArgumentException($"Split = {(int)Split} is unknown; use Train (0) or HeldOut (1).");
                }
                if (FileSha256 is not null || ByteOffset != 0 || ByteLength != 0)
                {
                    throw new ArgumentException($"A synthetic DataSpec must not name a file (FileSha256 = {FileSha256 ?? "null"}, ByteOffset = {ByteOffset}, ByteLength = {ByteLength}); clear those fields.");
                }
                break;
            case DataKind.TokenSlice:
                ValidateTokenSlice();
                break;
            case DataKind.File:
                if (FileSha256 is null || FileSha256.Length != Sha256HexLength || !FileSha256.All(char.IsAsciiHexDigitLower))
                {
                    throw new ArgumentException($"FileSha256 = '{FileSha256}' is not a SHA-256; give 64 lowercase hex digits (LmdSlicer computes it).");
                }
                if (ByteOffset < 0)
                {
                    throw new ArgumentException($"ByteOffset = {ByteOffset} is negative; use a line start in the decompressed stream (LmdSlicer gives them).");
                }
                if (ByteLength <= 0)
                {
                    throw new ArgumentException($"ByteLength = {ByteLength} is not positive; a file slice must hold at least one line.");
                }
                if (Corpus is not null || this.DomainMix is not null)
                {
                    throw new ArgumentException("A file DataSpec must not carry a synthetic Corpus or DomainMix; clear those fields.");
                }
                break;
            default:
                throw new ArgumentException($"Kind = {(int)Kind} is unknown; use Synthetic (0), File (1) or TokenSlice (2).");
        }
    }

    private void ValidateTokenSlice()
    {
        if (FileSha256 is null || FileSha256.Length != Sha256HexLength || !FileSha256.All(char.IsAsciiHexDigitLower))
        {
            throw new ArgumentException($"FileSha256 = '{FileSha256}' is not a SHA-256; a token slice is named by 64 lowercase hex digits (TokenCorpus computes them).");
        }
        if (TokenBytes is not (sizeof(ushort) or sizeof(int)))
        {
            throw new ArgumentException($"TokenBytes = {TokenBytes} is not 2 or 4; use the token file's width (TokenFileHeader.TokenBytes).");
        }
        if (VocabSize < 2)
        {
            throw new ArgumentException($"VocabSize = {VocabSize} is below 2; use the token file's vocabulary (TokenFileHeader.VocabSize).");
        }
        if (ByteOffset != 0 || ByteLength < 2L * TokenBytes || ByteLength % TokenBytes != 0)
        {
            throw new ArgumentException($"ByteOffset = {ByteOffset}, ByteLength = {ByteLength}: a token slice starts at 0 and holds a whole number (at least 2) of {TokenBytes}-byte ids.");
        }
        if (Corpus is not null || this.DomainMix is not null)
        {
            throw new ArgumentException("A token-slice DataSpec must not carry a synthetic Corpus or DomainMix; clear those fields.");
        }
    }

    /// <summary>Value equality, including the domain mix's elements.</summary>
    public bool Equals(DataSpec? other) =>
        other is not null
        && Kind == other.Kind
        && Equals(Corpus, other.Corpus)
        && (ReferenceEquals(this.DomainMix, other.DomainMix)
            || (this.DomainMix is not null && other.DomainMix is not null && this.DomainMix.AsSpan().SequenceEqual(other.DomainMix)))
        && Split == other.Split
        && SliceSeed == other.SliceSeed
        && FileSha256 == other.FileSha256
        && ByteOffset == other.ByteOffset
        && ByteLength == other.ByteLength
        && TokenBytes == other.TokenBytes
        && VocabSize == other.VocabSize;

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Kind);
        hash.Add(Corpus);
        foreach (double w in this.DomainMix ?? [])
        {
            hash.Add(w);
        }
        hash.Add(Split);
        hash.Add(SliceSeed);
        hash.Add(FileSha256);
        hash.Add(ByteOffset);
        hash.Add(ByteLength);
        hash.Add(TokenBytes);
        hash.Add(VocabSize);
        return hash.ToHashCode();
    }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append(Kind switch
        {
            DataKind.Synthetic => $"Kind = Synthetic, Corpus = {Corpus}, DomainMix = [{string.Join(", ", this.DomainMix ?? [])}], Split = {Split}, SliceSeed = {SliceSeed}",
            DataKind.TokenSlice => $"Kind = TokenSlice, FileSha256 = {FileSha256}, ByteLength = {ByteLength}, TokenBytes = {TokenBytes}, VocabSize = {VocabSize}, SliceSeed = {SliceSeed}",
            _ => $"Kind = File, FileSha256 = {FileSha256}, ByteOffset = {ByteOffset}, ByteLength = {ByteLength}",
        });
        return true;
    }
}
