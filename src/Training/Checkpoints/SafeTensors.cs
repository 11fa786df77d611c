using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Training;

/// <summary>Reads and writes checkpoints in the safetensors format (8-byte header length, JSON header, raw little-endian data), readable by PyTorch.</summary>
public static class SafeTensors
{
    /// <summary>Refuse headers larger than this, as the reference implementation does (100 MB), before allocating them.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private const string MetadataKey = "__metadata__";

    /// <summary>Writes atomically: a temporary file in the same folder, flushed to disk, then renamed over <paramref name="path"/>.</summary>
    public static void Write(string path, ParameterSet parameters, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var full = System.IO.Path.GetFullPath(path);
        var temp = full + $".tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                WriteTo(stream, parameters, metadata);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The file as bytes in memory (tests, hashing, sending).</summary>
    public static byte[] ToBytes(ParameterSet parameters, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var ms = new MemoryStream();
        WriteTo(ms, parameters, metadata);
        return ms.ToArray();
    }

    public static void WriteTo(Stream stream, ParameterSet parameters, IReadOnlyDictionary<string, string>? metadata)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) meta[k] = v;
            header[MetadataKey] = meta;
        }
        long offset = 0;
        foreach (var t in parameters)
        {
            long bytes = t.Count * sizeof(float);
            header[t.Name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray([.. t.Shape.Select(s => (JsonNode)s)]),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        // The format recommends padding the header with spaces to 8 bytes so the data is aligned.
        int padded = (json.Length + 7) / 8 * 8;
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
        stream.Write(len);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++) stream.WriteByte((byte)' ');
        foreach (var t in parameters)
        {
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors writing needs a little-endian host.");
            stream.Write(MemoryMarshal.AsBytes(t.Values.AsSpan()));
        }
    }

    public static ParameterSet Read(string path) => ReadWithMetadata(path).Parameters;

    /// <summary>Reads tensors and the <c>__metadata__</c> map; every inconsistency is a <see cref="SafeTensorsFormatException"/>.</summary>
    public static (ParameterSet Parameters, IReadOnlyDictionary<string, string> Metadata) ReadWithMetadata(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"checkpoint '{path}' does not exist; check the path or the checkpoint folder.", path);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses a whole file held in memory; <paramref name="source"/> names it in errors.</summary>
    public static (ParameterSet Parameters, IReadOnlyDictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> bytes, string source)
    {
        if (bytes.Length < 8) Fail(source, $"it is {bytes.Length} bytes long, shorter than the 8-byte header length");
        ulong headerLen = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLen > MaxHeaderBytes || (long)headerLen > bytes.Length - 8)
            Fail(source, $"the header length field says {headerLen} bytes but the file has {bytes.Length - 8} bytes after it (truncated or not safetensors)");
        var data = bytes[(8 + (int)headerLen)..];
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes.Slice(8, (int)headerLen)) as JsonObject ?? throw new JsonException("the header is not a JSON object");
        }
        catch (JsonException e)
        {
            Fail(source, $"the JSON header does not parse ({e.Message})");
            throw;
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<(string Name, long[] Shape, long Begin, long End)>();
        foreach (var (name, node) in header)
        {
            if (name == MetadataKey)
            {
                if (node is not JsonObject meta) { Fail(source, "__metadata__ is not an object"); continue; }
                foreach (var (k, v) in meta)
                    metadata[k] = v is JsonValue jv && jv.TryGetValue(out string? s) ? s : Fail<string>(source, $"metadata '{k}' is not a string");
                continue;
            }
            entries.Add(ParseEntry(name, node, source));
        }

        entries.Sort((a, b) => a.Begin.CompareTo(b.Begin));
        long expected = 0;
        foreach (var e in entries)
        {
            if (e.Begin != expected)
                Fail(source, $"tensor '{e.Name}' starts at data offset {e.Begin} but {expected} was expected (gap or overlap between tensors)");
            expected = e.End;
        }
        if (expected != data.Length)
            Fail(source, $"the tensors cover {expected} data bytes but the file holds {data.Length} (truncated or padded)");

        var set = new ParameterSet();
        foreach (var e in entries)
        {
            var values = MemoryMarshal.Cast<byte, float>(data[(int)e.Begin..(int)e.End]).ToArray();
            set.Add(new NamedTensor(e.Name, e.Shape, values));
        }
        return (set, metadata);
    }

    private static (string Name, long[] Shape, long Begin, long End) ParseEntry(string name, JsonNode? node, string source)
    {
        if (node is not JsonObject o) return Fail<(string, long[], long, long)>(source, $"the entry for tensor '{name}' is not an object");
        var dtype = o["dtype"] is JsonValue d && d.TryGetValue(out string? s) ? s : null;
        if (dtype != "F32") Fail(source, $"tensor '{name}' has dtype '{dtype ?? "(missing)"}'; only F32 is supported");
        long[] shape = ReadLongs(o["shape"], name, "shape", source);
        long[] offsets = ReadLongs(o["data_offsets"], name, "data_offsets", source);
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
            Fail(source, $"tensor '{name}' has data_offsets [{string.Join(", ", offsets)}]; expected [begin, end] with 0 <= begin <= end");
        long count;
        try { count = NamedTensor.ElementCount(shape); }
        catch (Exception e) when (e is ArgumentException or OverflowException) { return Fail<(string, long[], long, long)>(source, $"tensor '{name}' has an invalid shape ({e.Message})"); }
        if (offsets[1] - offsets[0] != count * sizeof(float))
            Fail(source, $"tensor '{name}' has shape [{string.Join(", ", shape)}] ({count * sizeof(float)} bytes) but data_offsets span {offsets[1] - offsets[0]} bytes");
        return (name, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadLongs(JsonNode? node, string name, string field, string source)
    {
        if (node is not JsonArray a) return Fail<long[]>(source, $"tensor '{name}' has no '{field}' array");
        var result = new long[a.Count];
        for (int i = 0; i < a.Count; i++)
            result[i] = a[i] is JsonValue v && v.TryGetValue(out long x) ? x : Fail<long>(source, $"tensor '{name}' has a non-integer in '{field}'");
        return result;
    }

    private static void Fail(string source, string problem) => throw new SafeTensorsFormatException(source, problem);

    private static T Fail<T>(string source, string problem) => throw new SafeTensorsFormatException(source, problem);
}
