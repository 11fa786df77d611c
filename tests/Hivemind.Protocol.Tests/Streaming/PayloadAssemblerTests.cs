using System.Security.Cryptography;
using Hivemind.Protocol.Errors;
using Hivemind.Protocol.Streaming;

namespace Hivemind.Protocol.Tests.Streaming;

/// <summary>Chunks reassemble exactly; short, long, oversized-chunk and wrong-hash streams each fail with their reason.</summary>
public sealed class PayloadAssemblerTests
{
    private static byte[] Payload(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 31 + 7)).ToArray();

    [Theory]
    [InlineData(0, 4)]
    [InlineData(1, 4)]
    [InlineData(12, 4)]
    [InlineData(13, 4)]
    [InlineData(100_003, 4096)]
    public void ChunksReassembleExactly(int length, int chunkBytes)
    {
        byte[] payload = Payload(length);
        var chunks = PayloadChunker.Split(payload, chunkBytes).ToList();
        Assert.Equal(PayloadChunker.ChunkCount(length, chunkBytes), chunks.Count);
        Assert.All(chunks, c => Assert.InRange(c.Length, 1, chunkBytes));
        using var assembler = new PayloadAssembler(length, SHA256.HashData(payload), maxBytes: length, maxChunkBytes: chunkBytes);
        foreach (var chunk in chunks) assembler.Append(chunk.Span);
        Assert.Equal(payload, assembler.Complete());
    }

    [Fact]
    public void BufferGrowsBeyondThePreallocationForLargeDeclarations()
    {
        // 20 MiB declared: above the 16 MiB preallocation, so the doubling path runs.
        byte[] payload = Payload(20 << 20);
        using var assembler = new PayloadAssembler(payload.Length, SHA256.HashData(payload), payload.Length, 1 << 20);
        foreach (var chunk in PayloadChunker.Split(payload, 1 << 20)) assembler.Append(chunk.Span);
        Assert.Equal(payload, assembler.Complete());
    }

    [Fact]
    public void ShortStreamIsTruncated()
    {
        byte[] payload = Payload(10);
        using var assembler = new PayloadAssembler(10, SHA256.HashData(payload), 100, 100);
        assembler.Append(payload.AsSpan(0, 9));
        var e = Assert.Throws<ProtocolException>(() => assembler.Complete());
        Assert.Equal(RejectReason.TruncatedStream, e.Reason);
        Assert.Contains("9 of 10", e.Message);
    }

    [Fact]
    public void ExtraBytesAreOversized()
    {
        byte[] payload = Payload(10);
        using var assembler = new PayloadAssembler(10, SHA256.HashData(payload), 100, 100);
        assembler.Append(payload);
        Assert.Equal(RejectReason.Oversized, Assert.Throws<ProtocolException>(() => assembler.Append([1])).Reason);
    }

    [Fact]
    public void ChunkAboveTheLimitIsOversized()
    {
        byte[] payload = Payload(10);
        using var assembler = new PayloadAssembler(10, SHA256.HashData(payload), 100, maxChunkBytes: 4);
        var e = Assert.Throws<ProtocolException>(() => assembler.Append(payload.AsSpan(0, 5)));
        Assert.Equal(RejectReason.Oversized, e.Reason);
        Assert.Contains("chunk limit of 4", e.Message);
    }

    [Fact]
    public void DeclaredLengthAboveTheLimitIsOversized()
    {
        var e = Assert.Throws<ProtocolException>(() => new PayloadAssembler(101, new byte[32], 100, 100));
        Assert.Equal(RejectReason.Oversized, e.Reason);
    }

    [Fact]
    public void WrongHashIsHashMismatch()
    {
        byte[] payload = Payload(10);
        byte[] hash = SHA256.HashData(payload);
        hash[0] ^= 1;
        using var assembler = new PayloadAssembler(10, hash, 100, 100);
        assembler.Append(payload);
        Assert.Equal(RejectReason.HashMismatch, Assert.Throws<ProtocolException>(() => assembler.Complete()).Reason);
    }
}
