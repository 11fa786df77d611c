using System.Buffers.Binary;
using System.Text;

namespace Hivemind.Protocol.Ledger;

/// <summary>
/// One decision in the public ledger, with a canonical byte form that any implementation can rebuild and hash:
/// <code>
/// u8 format = 1 | u8 kind | i64 at_unix_ms | u16 field count
/// | per field: u8 name length, ASCII name, u8 type, value
///   (type 1 integer: i64; 2 float: IEEE 754 f64; 3 text: u32 length, UTF-8; 4 bytes: u32 length, bytes)
/// </code>
/// all integers big-endian, fields in the order the coordinator wrote them. The leaf hash is SHA-256(0x00 || these bytes).
/// </summary>
public sealed class LedgerEntry
{
    /// <summary>The only entry format so far.</summary>
    public const byte Format = 1;

    /// <summary>Entries are small records; a larger one is not an entry (guards decoding of hostile bytes).</summary>
    public const int MaxEntryBytes = 1 << 20;

    private const int MaxNameLength = byte.MaxValue;

    public LedgerEntry(LedgerEntryKind kind, long atUnixMs, IReadOnlyList<LedgerField> fields)
    {
        if (fields.Count > ushort.MaxValue) throw new ArgumentException($"an entry holds at most {ushort.MaxValue} fields, not {fields.Count}", nameof(fields));
        foreach (var f in fields)
        {
            if (f.Name.Length is 0 or > MaxNameLength || !f.Name.All(char.IsAscii))
                throw new ArgumentException($"field name '{f.Name}' must be 1..{MaxNameLength} ASCII characters", nameof(fields));
            bool typed = f.Type switch
            {
                LedgerValueType.Integer => f.Value is long,
                LedgerValueType.Float => f.Value is double,
                LedgerValueType.Text => f.Value is string,
                LedgerValueType.Bytes => f.Value is byte[],
                _ => false,
            };
            if (!typed) throw new ArgumentException($"field '{f.Name}' declares type {f.Type} but holds a {f.Value?.GetType().Name ?? "null"}", nameof(fields));
        }
        Kind = kind;
        AtUnixMs = atUnixMs;
        Fields = fields;
    }

    public LedgerEntryKind Kind { get; }

    /// <summary>When the coordinator decided (its clock, Unix milliseconds).</summary>
    public long AtUnixMs { get; }

    public IReadOnlyList<LedgerField> Fields { get; }

    public string? Text(string name) => Find(name, LedgerValueType.Text) as string;

    public long? Integer(string name) => Find(name, LedgerValueType.Integer) as long?;

    public double? Float(string name) => Find(name, LedgerValueType.Float) as double?;

    public byte[]? Bytes(string name) => Find(name, LedgerValueType.Bytes) as byte[];

    private object? Find(string name, LedgerValueType type) => Fields.FirstOrDefault(f => f.Name == name && f.Type == type)?.Value;

    /// <summary>The canonical bytes (see the type's summary).</summary>
    public byte[] Encode()
    {
        using var stream = new MemoryStream();
        Span<byte> word = stackalloc byte[8];
        stream.WriteByte(Format);
        stream.WriteByte((byte)Kind);
        BinaryPrimitives.WriteInt64BigEndian(word, AtUnixMs);
        stream.Write(word);
        BinaryPrimitives.WriteUInt16BigEndian(word, (ushort)Fields.Count);
        stream.Write(word[..2]);
        foreach (var f in Fields)
        {
            stream.WriteByte((byte)f.Name.Length);
            stream.Write(Encoding.ASCII.GetBytes(f.Name));
            stream.WriteByte((byte)f.Type);
            switch (f.Value)
            {
                case long l:
                    BinaryPrimitives.WriteInt64BigEndian(word, l);
                    stream.Write(word);
                    break;
                case double d:
                    BinaryPrimitives.WriteDoubleBigEndian(word, d);
                    stream.Write(word);
                    break;
                case string s:
                    WriteBlob(stream, Encoding.UTF8.GetBytes(s));
                    break;
                case byte[] b:
                    WriteBlob(stream, b);
                    break;
            }
        }
        return stream.ToArray();
    }

    /// <summary>Decodes entry bytes strictly (known format, every length in bounds, nothing trailing); throws <see cref="InvalidDataException"/> naming the fault.</summary>
    public static LedgerEntry Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > MaxEntryBytes) throw new InvalidDataException($"a ledger entry of {bytes.Length} bytes exceeds the {MaxEntryBytes}-byte limit");
        var r = new Reader(bytes);
        byte format = r.Byte();
        if (format != Format) throw new InvalidDataException($"ledger entry format {format} is unknown (this build reads format {Format})");
        var kind = (LedgerEntryKind)r.Byte();
        long at = BinaryPrimitives.ReadInt64BigEndian(r.Take(8));
        int count = BinaryPrimitives.ReadUInt16BigEndian(r.Take(2));
        var fields = new List<LedgerField>(count);
        for (int i = 0; i < count; i++)
        {
            string name = Encoding.ASCII.GetString(r.Take(r.Byte()));
            var type = (LedgerValueType)r.Byte();
            fields.Add(type switch
            {
                LedgerValueType.Integer => LedgerField.Of(name, BinaryPrimitives.ReadInt64BigEndian(r.Take(8))),
                LedgerValueType.Float => LedgerField.Of(name, BinaryPrimitives.ReadDoubleBigEndian(r.Take(8))),
                LedgerValueType.Text => LedgerField.Of(name, Encoding.UTF8.GetString(r.Take(checked((int)BinaryPrimitives.ReadUInt32BigEndian(r.Take(4)))))),
                LedgerValueType.Bytes => LedgerField.Of(name, r.Take(checked((int)BinaryPrimitives.ReadUInt32BigEndian(r.Take(4)))).ToArray()),
                _ => throw new InvalidDataException($"field '{name}' has unknown type {(byte)type}"),
            });
        }
        if (!r.AtEnd) throw new InvalidDataException($"{r.Remaining} bytes follow the last field of a ledger entry");
        try
        {
            return new LedgerEntry(kind, at, fields);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(e.Message, e);
        }
    }

    public override string ToString() => $"{Kind.ToString().ToLowerInvariant()} at {AtUnixMs}: {string.Join(' ', Fields)}";

    private static void WriteBlob(Stream stream, byte[] bytes)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
        stream.Write(length);
        stream.Write(bytes);
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public readonly bool AtEnd => _at == _bytes.Length;

        public readonly int Remaining => _bytes.Length - _at;

        public byte Byte() => Take(1)[0];

        public ReadOnlySpan<byte> Take(int count)
        {
            if (count < 0 || count > _bytes.Length - _at)
                throw new InvalidDataException($"a ledger entry is truncated: {count} bytes wanted at offset {_at}, {_bytes.Length - _at} left");
            var slice = _bytes.Slice(_at, count);
            _at += count;
            return slice;
        }
    }
}
