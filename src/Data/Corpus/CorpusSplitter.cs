using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Hivemind.Data;

/// <summary>
/// Splits an LMD archive into train and held-out archives by a hash of each document's text, so a document
/// lands on the same side whatever file or position it comes from (duplicates never straddle the split).
/// </summary>
public static class CorpusSplitter
{
    /// <summary>Held-out side when the first 8 bytes of SHA-256(text), as a fraction of 2^64, are below the fraction.</summary>
    public static bool IsHeldOut(string text, double heldOutFraction)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        double position = BinaryPrimitives.ReadUInt64BigEndian(hash) / 18446744073709551616.0; // 2^64
        return position < heldOutFraction;
    }

    /// <summary>Streams <paramref name="input"/> into the two outputs, keeping each document's meta as it was.</summary>
    public static (CorpusStatistics Train, CorpusStatistics HeldOut) Split(string input, string trainOutput, string heldOutOutput, double heldOutFraction)
    {
        ArgumentException.ThrowIfNullOrEmpty(trainOutput);
        ArgumentException.ThrowIfNullOrEmpty(heldOutOutput);
        CorpusInspector.RequireFile(input);
        if (!(heldOutFraction > 0 && heldOutFraction < 1))
        {
            throw new ArgumentException($"--held-out {heldOutFraction} is not in (0, 1); The Pile holds out about 0.01 (1%) per split.");
        }
        string full = Path.GetFullPath(input);
        if (full == Path.GetFullPath(trainOutput) || full == Path.GetFullPath(heldOutOutput) || Path.GetFullPath(trainOutput) == Path.GetFullPath(heldOutOutput))
        {
            throw new ArgumentException($"the input and the two outputs must be three different files (got {input}, {trainOutput}, {heldOutOutput}).");
        }
        var train = new CorpusStatistics();
        var heldOut = new CorpusStatistics();
        PartialOutput.Write<bool>([trainOutput, heldOutOutput], partials =>
        {
            using var reader = new LmdReader(input);
            using var trainWriter = new LmdWriter(partials[0]);
            using var heldOutWriter = new LmdWriter(partials[1]);
            foreach (LmdDocument doc in reader.Documents())
            {
                bool held = IsHeldOut(doc.Text, heldOutFraction);
                (held ? heldOutWriter : trainWriter).WriteRaw(doc.Text, doc.MetaJson);
                (held ? heldOut : train).Add(LmdMeta.Component(doc.MetaJson), Encoding.UTF8.GetByteCount(doc.Text));
            }
            return true;
        });
        return (train, heldOut);
    }
}
