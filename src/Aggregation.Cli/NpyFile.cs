using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Hivemind.Aggregation.Cli;

/// <summary>
/// Reads and writes NumPy .npy (format 1.0–3.0) holding little-endian float32, C order, 1-D or 2-D.
/// Hand-written: the only served .npy reader (NumSharp) brings a whole ndarray library for one
/// header, and the format is a magic string, a Python-dict header and raw bytes.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static NpyArray Read(string path)
    {
        using FileStream stream = OpenForRead(path);
        var prefix = new byte[10];
        if (stream.ReadAtLeast(prefix, prefix.Length, throwOnEndOfStream: false) < prefix.Length || !prefix.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new NpyFormatException(path, "not a NumPy .npy file (missing the \\x93NUMPY magic); save it with numpy.save.");
        }

        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8));
        }
        else if (major is 2 or 3)
        {
            var rest = new byte[2];
            stream.ReadExactly(rest);
            headerLength = (int)BinaryPrimitives.ReadUInt32LittleEndian([prefix[8], prefix[9], rest[0], rest[1]]);
        }
        else
        {
            throw new NpyFormatException(path, $".npy format version {major}.{prefix[7]} is not supported (1.0, 2.0, 3.0 are).");
        }

        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerLength, throwOnEndOfStream: false) < headerLength)
        {
            throw new NpyFormatException(path, $"the header claims {headerLength} bytes but the file ends first; the file is truncated.");
        }

        string header = Encoding.UTF8.GetString(headerBytes);
        string descr = Field(path, header, DescrPattern(), "descr");
        if (descr != "<f4")
        {
            throw new NpyFormatException(path, $"dtype '{descr}' is not little-endian float32 ('<f4'); convert with a.astype(numpy.float32) before saving.");
        }

        bool fortran = Field(path, header, FortranPattern(), "fortran_order") == "True";
        long[] shape = Field(path, header, ShapePattern(), "shape")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        if (shape.Length is 0 or > 2)
        {
            throw new NpyFormatException(path, $"shape ({string.Join(", ", shape)}) has {shape.Length} dimensions; expected (n, d) for a stack of updates or (d,) for one vector.");
        }

        if (fortran && shape.Length == 2 && shape[0] > 1 && shape[1] > 1)
        {
            throw new NpyFormatException(path, "array is in Fortran order; save numpy.ascontiguousarray(a) instead.");
        }

        long rows = shape.Length == 2 ? shape[0] : 1;
        long columns = shape[^1];
        long count = rows * columns;
        if (count > Array.MaxLength || columns > int.MaxValue)
        {
            throw new NpyFormatException(path, $"shape ({string.Join(", ", shape)}) holds {count} floats, more than one array can hold ({Array.MaxLength}); split the stack.");
        }

        var data = new float[count];
        Span<byte> bytes = MemoryMarshal.AsBytes(data.AsSpan());
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < bytes.Length)
        {
            throw new NpyFormatException(path, $"shape ({string.Join(", ", shape)}) needs {bytes.Length} bytes of data but only {read} follow the header; the file is truncated.");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new NpyFormatException(path, "big-endian hosts are not supported.");
        }

        return new NpyArray(data, (int)rows, (int)columns, isVector: shape.Length == 1);
    }

    public static void Write(string path, NpyArray array)
    {
        string shape = array.IsVector ? $"({array.Columns},)" : $"({array.Rows}, {array.Columns})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";

        // Version 1.0 header: magic(6) + version(2) + length(2) + dict, padded with spaces to a multiple of 64, ending in \n.
        int total = (10 + dict.Length + 1 + 63) / 64 * 64;
        string padded = dict.PadRight(total - 10 - 1) + "\n";
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> length = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)padded.Length);
        stream.Write(length);
        stream.Write(Encoding.ASCII.GetBytes(padded));
        stream.Write(MemoryMarshal.AsBytes(array.Data.AsSpan(0, array.Rows * array.Columns)));
    }

    private static FileStream OpenForRead(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NpyFormatException(path, $"cannot open: {e.Message}");
        }
    }

    private static string Field(string path, string header, Regex pattern, string name)
    {
        Match match = pattern.Match(header);
        return match.Success
            ? match.Groups[1].Value
            : throw new NpyFormatException(path, $"header has no '{name}' entry: {header.Trim()}");
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
