using System.Buffers.Binary;
using System.Text;
using Hivemind.Aggregation.Cli;

namespace Hivemind.Aggregation.Tests;

/// <summary>
/// A bounded, generated corpus of malformed .npy files (hostile shapes, header lengths, versions, every
/// truncation, seeded byte flips): the reader returns a consistent array or throws
/// <see cref="NpyFormatException"/>, and the CLI answers with exit 0, or exit 2 and exactly one
/// <c>error:</c> line; never a stack trace.
/// </summary>
public sealed class NpyFuzzTests : IDisposable
{
    /// <summary>Seeded random mutants of the valid file: enough to hit every header byte many times, bounded for run time.</summary>
    private const int RandomMutants = 300;

    private readonly string _folder = Directory.CreateTempSubdirectory("hivemind-npy-fuzz-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    public static TheoryData<string> HostileShapes => new()
    {
        "", "(", "abc", "-1, 4", "3, -4", "18446744073709551616, 1", "99999999999999999999999999", "9223372036854775807, 9223372036854775807",
        "4294967296, 4294967296", "3.5, 4", "1e3,", "0x10,", "3,,4", ",", "+3, 4", "\u0663, 4", "3, 4, 5", "2147483648, 1", "1, 2147483648",
        "-0, 4", "3 4", "L, 4", "3LL, 4", "9223372036854775807,", "0, 0", "0, 5", "5, 0",
    };

    [Theory]
    [MemberData(nameof(HostileShapes))]
    public void Hostile_shapes_are_explained_or_read_consistently(string shape)
    {
        string path = Write("shape.npy", Header(shape), new byte[48]);
        AssertReadsOrExplains(path);
        AssertCliAnswersInOneLine(path);
    }

    [Theory]
    [InlineData(2, 0u)]
    [InlineData(2, 1u)]
    [InlineData(2, 10_001u)]
    [InlineData(2, 0x7FFFFFFFu)]
    [InlineData(2, 0x80000000u)]
    [InlineData(2, 0xFFFFFFFFu)]
    [InlineData(3, 0xFFFFFFFFu)]
    [InlineData(1, 0xFFFFu)]
    [InlineData(1, 0u)]
    public void Hostile_header_lengths_are_refused_before_allocating(byte major, uint length)
    {
        byte[] dict = Encoding.ASCII.GetBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }\n");
        var bytes = new List<byte>(Magic(major));
        if (major == 1)
        {
            bytes.AddRange(BitConverter.GetBytes((ushort)length));
        }
        else
        {
            var four = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(four, length);
            bytes.AddRange(four);
        }

        bytes.AddRange(dict);
        bytes.AddRange(new byte[48]);
        string path = Path.Combine(_folder, "length.npy");
        File.WriteAllBytes(path, bytes.ToArray());
        var e = Assert.Throws<NpyFormatException>(() => NpyFile.Read(path));
        Assert.Contains(path, e.Message);
        AssertCliAnswersInOneLine(path);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    [InlineData(255)]
    public void Unknown_versions_are_named(byte major)
    {
        string path = Write("version.npy", Header("3, 4"), new byte[48]);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[6] = major;
        File.WriteAllBytes(path, bytes);
        Assert.Contains($"version {major}.0 is not supported", Assert.Throws<NpyFormatException>(() => NpyFile.Read(path)).Message);
    }

    [Fact]
    public void Every_truncation_of_a_valid_file_is_explained()
    {
        string valid = Path.Combine(_folder, "valid.npy");
        NpyFile.Write(valid, NpyArray.Stack(Data.Gaussian(3, 4, seed: 1)));
        byte[] bytes = File.ReadAllBytes(valid);
        string path = Path.Combine(_folder, "truncated.npy");
        for (int length = 0; length < bytes.Length; length++)
        {
            File.WriteAllBytes(path, bytes[..length]);
            Assert.Throws<NpyFormatException>(() => NpyFile.Read(path));
        }
    }

    [Fact]
    public void Seeded_random_mutants_never_escape_as_other_exceptions()
    {
        string valid = Path.Combine(_folder, "valid.npy");
        NpyFile.Write(valid, NpyArray.Stack(Data.Gaussian(3, 4, seed: 1)));
        byte[] original = File.ReadAllBytes(valid);
        var random = new Random(11);
        string path = Path.Combine(_folder, "mutant.npy");
        for (int mutant = 0; mutant < RandomMutants; mutant++)
        {
            byte[] bytes = (byte[])original.Clone();
            int flips = random.Next(1, 4);
            for (int k = 0; k < flips; k++)
            {
                // The first 128 bytes are the header, where the parsing is.
                bytes[random.Next(128)] = (byte)random.Next(256);
            }

            File.WriteAllBytes(path, bytes);
            AssertReadsOrExplains(path);
            if (mutant % 10 == 0)
            {
                AssertCliAnswersInOneLine(path);
            }
        }
    }

    private static void AssertReadsOrExplains(string path)
    {
        try
        {
            NpyArray array = NpyFile.Read(path);
            Assert.Equal((long)array.Rows * array.Columns, array.Data.LongLength);
        }
        catch (NpyFormatException e)
        {
            Assert.StartsWith(path, e.Message);
        }
    }

    private void AssertCliAnswersInOneLine(string path)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = RobustCli.Run(["aggregate", "--rule", "mean", "--in", path, "--out", Path.Combine(_folder, "out.npy")], stdout, stderr);
        string[] lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (code == 0)
        {
            return;
        }

        Assert.Equal(RobustCli.UsageError, code);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", stderr.ToString());
    }

    private string Write(string name, byte[] header, byte[] data)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, header.Concat(data).ToArray());
        return path;
    }

    private static byte[] Header(string shape)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}";
        string padded = dict.PadRight((10 + dict.Length + 1 + 63) / 64 * 64 - 10 - 1) + "\n";
        byte[] text = Encoding.UTF8.GetBytes(padded);
        return [.. Magic(1), .. BitConverter.GetBytes((ushort)text.Length), .. text];
    }

    private static byte[] Magic(byte major) => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', major, 0];
}
