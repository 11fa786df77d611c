using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Verification;

/// <summary>
/// What a failed spot check keeps, in one file anyone can re-check with <c>hivemind verify-evidence</c>: the volunteer's signed
/// envelope, signature and payload exactly as received, the unit's recipe (with its data), the shard's start parameters, the
/// coordinator's recomputation, the divergence, the thresholds and, for a real-text unit, the token slice it trained on, so the
/// check re-runs without the coordinator's corpus. Layout: a magic line, then length-prefixed sections (a JSON header, then the
/// binary blobs; parameters as safetensors, which PyTorch reads; v2 adds the slice bytes as the last section).
/// </summary>
public sealed record SpotCheckEvidence(
    UnitRecipe Recipe, string VolunteerId, long UpdateSequence, SpotCheckThresholds Thresholds, UpdateDivergence Divergence, long AtMs,
    byte[] Envelope, byte[] Signature, byte[] Payload, ParameterSet Start, ParameterSet Recomputed)
{
    /// <summary>First bytes of an evidence file this version writes; another value is another format or not evidence at all.</summary>
    public static ReadOnlySpan<byte> Magic => "hivemind-evidence/v2\n"u8;

    /// <summary>
    /// First bytes of the format before real-text units: the same sections without the recipe's data and the slice bytes. Still read
    /// (its units are synthetic, derived from the recipe's seeds), so older evidence stays checkable.
    /// </summary>
    public static ReadOnlySpan<byte> MagicV1 => "hivemind-evidence/v1\n"u8;

    /// <summary>
    /// A real-text unit's token slice, as the coordinator read it from its corpus (<see cref="UnitRecipe.Data"/> names it by its
    /// SHA-256, which the check verifies); empty for a synthetic unit and in v1 files.
    /// </summary>
    public byte[] Slice { get; init; } = [];

    /// <summary>The format's version the file was read from (1 or 2); what <see cref="Write"/> writes is always 2.</summary>
    public int FormatVersion { get; init; } = 2;

    /// <summary>Evidence files are parameter-sized; beyond this a file is not one of ours (a 95M-parameter shard is ~400 MB).</summary>
    public const long MaxSectionBytes = 4L << 30;

    private static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    private sealed record Header(UnitRecipe Recipe, string VolunteerId, long UpdateSequence, SpotCheckThresholds Thresholds, UpdateDivergence Divergence, long AtMs);

    /// <summary>Writes the file atomically and durably (it is the reason a key is banned).</summary>
    public void Write(string path)
    {
        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        Section(buffer, JsonSerializer.SerializeToUtf8Bytes(new Header(Recipe, VolunteerId, UpdateSequence, Thresholds, Divergence, AtMs), Json));
        Section(buffer, Envelope);
        Section(buffer, Signature);
        Section(buffer, Payload);
        Section(buffer, SafeTensors.ToBytes(Start));
        Section(buffer, SafeTensors.ToBytes(Recomputed));
        Section(buffer, Slice);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        DurableFiles.WriteAtomic(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Reads an evidence file; a file of another format or a truncated one is an <see cref="InvalidDataException"/> naming it.</summary>
    public static SpotCheckEvidence Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"evidence file '{path}' does not exist; evidence files are under <data-directory>/evidence/.", path);
        using var file = File.OpenRead(path);
        try
        {
            var magic = new byte[Magic.Length];
            file.ReadExactly(magic);
            bool v1 = magic.AsSpan().SequenceEqual(MagicV1);
            if (!v1 && !magic.AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("it does not start with 'hivemind-evidence/v2' (or the older 'hivemind-evidence/v1')");
            var header = JsonSerializer.Deserialize<Header>(ReadSection(file), Json) ?? throw new InvalidDataException("its header is empty");
            byte[] envelope = ReadSection(file), signature = ReadSection(file), payload = ReadSection(file);
            var start = SafeTensors.Parse(ReadSection(file), path + " (start)").Parameters;
            var recomputed = SafeTensors.Parse(ReadSection(file), path + " (recomputed)").Parameters;
            // v1 predates real-text units: its recipe has no data (a v1 header naming some is not one the coordinator wrote).
            if (v1 && header.Recipe.Data is not null) throw new InvalidDataException("a v1 header names the unit's data, which only v2 files do");
            byte[] slice = v1 ? [] : ReadSection(file);
            if (file.Position != file.Length) throw new InvalidDataException($"{file.Length - file.Position} bytes follow the last section");
            return new SpotCheckEvidence(header.Recipe, header.VolunteerId, header.UpdateSequence, header.Thresholds, header.Divergence, header.AtMs,
                envelope, signature, payload, start, recomputed) { Slice = slice, FormatVersion = v1 ? 1 : 2 };
        }
        catch (Exception e) when (e is EndOfStreamException or JsonException or InvalidDataException or NotSupportedException)
        {
            throw new InvalidDataException($"'{path}' is not a readable evidence file ({e.Message}); use a file from <data-directory>/evidence/ as the coordinator wrote it.", e);
        }
    }

    private static void Section(Stream s, byte[] bytes)
    {
        Span<byte> length = stackalloc byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(length, bytes.LongLength);
        s.Write(length);
        s.Write(bytes);
    }

    private static byte[] ReadSection(Stream s)
    {
        Span<byte> length = stackalloc byte[sizeof(long)];
        s.ReadExactly(length);
        long n = BinaryPrimitives.ReadInt64LittleEndian(length);
        if (n < 0 || n > MaxSectionBytes || n > s.Length - s.Position) throw new InvalidDataException($"a section claims {n} bytes, more than the file holds");
        var bytes = new byte[n];
        s.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Hex SHA-256 of the start parameters (as safetensors), so a published model version can be matched.</summary>
    public string StartSha256() => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(SafeTensors.ToBytes(Start))).ToLowerInvariant();

    /// <summary>For logs.</summary>
    public override string ToString() => new StringBuilder().Append("evidence against ").Append(VolunteerId).Append(" on ").Append(Recipe.WorkUnitId).ToString();
}
