using System.Buffers.Binary;
using System.Text;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Training.Tests;

/// <summary>Checkpoints round-trip bit for bit, and damaged files are reported with the file and the problem.</summary>
public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hm-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void RoundTripsModelWithMetadata()
    {
        var p = ModelInit.Initialize(ModelConfig.Preset("tiny"), 9);
        p.Set(new NamedTensor("odd", [3], [float.Epsilon, -0f, float.MaxValue]));
        var path = Path.Combine(_dir, "model.safetensors");
        SafeTensors.Write(path, p, new Dictionary<string, string> { ["round"] = "12" });
        var (read, meta) = SafeTensors.ReadWithMetadata(path);
        ShardTests.AssertBitwiseEqual(p, read);
        Assert.Equal("12", meta["round"]);
        Assert.Equal([path], Directory.GetFiles(_dir)); // the temporary file was renamed, not left behind
        // Header padded to 8 bytes, so tensor data is aligned for memory mapping.
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path)) % 8);
    }

    [Fact]
    public void TruncatedFileIsReportedWithItsPath()
    {
        var path = Path.Combine(_dir, "cut.safetensors");
        var bytes = SafeTensors.ToBytes(ModelInit.Initialize(ModelConfig.Preset("tiny"), 9));
        File.WriteAllBytes(path, bytes[..^5]);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", "dtype 'F16'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "shape [2] (8 bytes)")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "starts at data offset 4")]
    [InlineData("{\"a\":", "does not parse")]
    public void BadHeadersAreExplained(string header, string expected)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        var e = Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Parse(bytes, "x.safetensors"));
        Assert.Contains(expected, e.Message);
    }
}
