using Google.Protobuf;
using Hivemind.Data;
using Hivemind.Protocol.V1;

namespace Hivemind.Volunteer.Work;

/// <summary>A work unit's <see cref="DataSpec"/> on the wire and back: the one mapping the coordinator and the volunteer share.</summary>
public static class DataSliceWire
{
    private const int Sha256Bytes = 32;

    /// <summary>The wire form of <paramref name="spec"/> (synthetic, or a token slice: DATASET_KIND_FILE with token_bytes &gt; 0).</summary>
    public static DataSlice ToWire(DataSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        switch (spec.Kind)
        {
            case DataKind.Synthetic:
                var data = new DataSlice
                {
                    Kind = DatasetKind.Synthetic,
                    CorpusSeed = (ulong)spec.Corpus!.Seed,
                    CorpusOrder = (uint)spec.Corpus.Order,
                    SliceSeed = (ulong)spec.SliceSeed,
                };
                data.DomainMix.AddRange(spec.DomainMix!.Select((w, d) => new DomainWeight { Domain = (uint)d, Weight = w }));
                return data;
            case DataKind.TokenSlice:
                return new DataSlice
                {
                    Kind = DatasetKind.File,
                    FileSha256 = ByteString.CopyFrom(Convert.FromHexString(spec.FileSha256!)),
                    ByteStart = 0,
                    ByteEnd = (ulong)spec.ByteLength,
                    SliceSeed = (ulong)spec.SliceSeed,
                    TokenBytes = (uint)spec.TokenBytes,
                    VocabSize = (uint)spec.VocabSize,
                    FileName = TokenSlice.FileNameFor(spec.FileSha256!),
                };
            default:
                throw new NotSupportedException($"data kind {spec.Kind} has no wire form for work units; use a synthetic or token-slice DataSpec.");
        }
    }

    /// <summary>The spec a wire slice names; <see cref="InvalidDataException"/> naming the field when it is malformed or unsupported.</summary>
    public static DataSpec FromWire(DataSlice w)
    {
        ArgumentNullException.ThrowIfNull(w);
        DataSpec spec;
        if (w.Kind == DatasetKind.Synthetic)
        {
            var mix = w.DomainMix.OrderBy(d => d.Domain).Select(d => d.Weight).ToArray();
            var corpus = new SyntheticCorpusConfig((long)w.CorpusSeed, Domains: mix.Length, Order: w.CorpusOrder == 0 ? 2 : (int)w.CorpusOrder);
            spec = DataSpec.Synthetic(corpus, mix, (long)w.SliceSeed);
        }
        else if (w.Kind == DatasetKind.File && w.TokenBytes > 0)
        {
            if (w.FileSha256.Length != Sha256Bytes)
                throw new InvalidDataException($"the work unit's token slice names a {w.FileSha256.Length}-byte hash; a SHA-256 has {Sha256Bytes}.");
            if (w.ByteStart != 0 || w.ByteEnd > long.MaxValue)
                throw new InvalidDataException($"the work unit's token slice is [{w.ByteStart}, {w.ByteEnd}); a slice is named whole, from byte 0.");
            spec = DataSpec.TokenSlice(Convert.ToHexStringLower(w.FileSha256.Span), (long)w.ByteEnd, (int)w.TokenBytes, (int)Math.Min(w.VocabSize, int.MaxValue), (long)w.SliceSeed);
        }
        else
        {
            throw new NotSupportedException($"dataset kind {w.Kind} (token_bytes {w.TokenBytes}) is not supported by this volunteer; only the synthetic corpus and token slices are.");
        }
        try
        {
            spec.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"the work unit's data is malformed: {e.Message}", e);
        }
        return spec;
    }
}
