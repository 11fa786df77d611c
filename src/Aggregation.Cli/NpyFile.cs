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

    /// <summary>
    /// Largest header accepted, as numpy's own reader (np.load's max_header_size default). A float32
    /// header is under 128 bytes; a bigger claim is a damaged or hostile file, refused before allocating.
    /// </summary>
    public const int MaxHeaderBytes = 10_000;

    /// <summary>Magic (6) + version (2) + header length: 2 bytes in format 1.0, 4 in 2.0 and 3.0.</summary>
    private const int PrefixBytes = 10;

    public static NpyArray Read(string path)
    {
        using FileStream stream = OpenForRead(path);
        var prefix = new byte[PrefixBytes + 2];
        if (stream.ReadAtLeast(prefix.AsMemory(0, PrefixBytes).Span, PrefixBytes, throwOnEndOfStream: false) < PrefixBytes || !prefix.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new NpyFormatException(path, "not a NumPy .npy file (missing the \\x93NUMPY magic); save it with numpy.save.");
        }

        int major = prefix[6];
        long headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(prefix.AsSpan(8));
        }
        else if (major is 2 or 3)
        {
            if (stream.ReadAtLeast(prefix.AsSpan(PrefixBytes, 2), 2, throwOnEndOfStream: false) < 2)
            {
                throw new NpyFormatException(path, $"format {major}.{prefix[7]} needs a 4-byte header length but the file ends first; the file is truncated.");
            }

            headerLength = BinaryPrimitives.ReadUInt32LittleEndian(prefix.AsSpan(8));
        }
        else
        {
            throw new NpyFormatException(path, $".npy format version {major}.{prefix[7]} is not supported (1.0, 2.0, 3.0 are).");
        }

        if (headerLength > MaxHeaderBytes)
        {
            throw new NpyFormatException(path, $"the header claims {headerLength} bytes, more than the {MaxHeaderBytes} numpy itself accepts (a float32 header is under 128); the file is damaged. Re-save it with numpy.save.");
        }

        var headerBytes = new byte[headerLength];
        if (stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false) < headerLength)
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
        string shapeText = Field(path, header, ShapePattern(), "shape");
        long[] shape = Shape(path, shapeText);
        if (shape.Length is 0 or > 2)
        {
            throw new NpyFormatException(path, $"shape ({shapeText}) has {shape.Length} dimensions; expected (n, d) for a stack of updates or (d,) for one vector.");
        }

        if (fortran && shape.Length == 2 && shape[0] > 1 && shape[1] > 1)
        {
            throw new NpyFormatException(path, "array is in Fortran order; save numpy.ascontiguousarray(a) instead.");
        }

        long rows = shape.Length == 2 ? shape[0] : 1;
        long columns = shape[^1];

        // Divide instead of multiplying: rows·columns of two 63-bit entries overflows long.
        if (columns > int.MaxValue || rows > int.MaxValue || (columns > 0 && rows > Array.MaxLength / columns))
        {
            throw new NpyFormatException(path, $"shape ({shapeText}) holds more floats than one array can ({Array.MaxLength}); split the stack.");
        }

        long count = rows * columns;
        long needed = count * sizeof(float);
        if (stream.CanSeek && stream.Length - stream.Position < needed)
        {
            throw new NpyFormatException(path, $"shape ({shapeText}) needs {needed} bytes of data but only {stream.Length - stream.Position} follow the header; the file is truncated.");
        }

        var data = new float[count];
        Span<byte> bytes = MemoryMarshal.AsBytes(data.AsSpan());
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < bytes.Length)
        {
            throw new NpyFormatException(path, $"shape ({shapeText}) needs {bytes.Length} bytes of data but only {read} follow the header; the file is truncated.");
        }

        if (!BitConverter.IsLittleEndian)
        {
            throw new NpyFormatException(path, "big-endian hosts are not supported.");
        }

        return new NpyArray(data, (int)rows, (int)columns, isVector: shape.Length == 1);
    }

    /// <summary>Parses "3, 4" or "5," into dimensions, each a non-negative integer that fits 64 bits (Python 2's "3L" accepted).</summary>
    private static long[] Shape(string path, string text)
    {
        string[] entries = text.Split(',', StringSplitOptions.TrimEntries);
        var shape = new List<long>(entries.Length);
        for (int k = 0; k < entries.Length; k++)
        {
            string entry = entries[k];
            if (entry.Length == 0 && k == entries.Length - 1)
            {
                // The trailing comma of a 1-tuple, "(5,)".
                continue;
            }

            string digits = entry.EndsWith('L') ? entry[..^1] : entry;
            if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
            {
                throw new NpyFormatException(path, $"shape entry '{entry}' in ({text}) is not a non-negative integer; the header is damaged. Re-save the array with numpy.save.");
            }

            if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long dimension))
            {
                throw new NpyFormatException(path, $"shape entry '{entry}' in ({text}) does not fit in 64 bits; the header is damaged. Re-save the array with numpy.save.");
            }

            shape.Add(dimension);
        }

        return shape.ToArray();
    }

    /// <summary>
    /// Writes a version 1.0 file. It goes to a temporary file beside the target and is then renamed over
    /// it, so a failed write (disk full, killed process) never leaves a half-written array at the path.
    /// </summary>
    public static void Write(string path, NpyArray array)
    {
        string shape = array.IsVector ? $"({array.Columns},)" : $"({array.Rows}, {array.Columns})";
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";

        // Version 1.0 header: magic(6) + version(2) + length(2) + dict, padded with spaces to a multiple of 64, ending in \n.
        int total = (PrefixBytes + dict.Length + 1 + 63) / 64 * 64;
        string padded = dict.PadRight(total - PrefixBytes - 1) + "\n";
        string temporary = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                stream.Write(Magic);
                stream.Write([1, 0]);
                Span<byte> length = stackalloc byte[2];
                BinaryPrimitives.WriteUInt16LittleEndian(length, (ushort)padded.Length);
                stream.Write(length);
                stream.Write(Encoding.ASCII.GetBytes(padded));
                stream.Write(MemoryMarshal.AsBytes(array.Data.AsSpan(0, array.Rows * array.Columns)));
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    private static FileStream OpenForRead(string path)
    {
        if (Directory.Exists(path))
        {
            throw new NpyFormatException(path, "is a folder, not a .npy file; give the file inside it.");
        }

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
