using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Hivemind.Data;

/// <summary>Tokenizes an LMD archive once, streaming, into a token file and its index (see <see cref="TokenFileFormat"/>).</summary>
public static class TokenFileWriter
{
    private const int FlushTokens = 1 << 16;

    /// <summary>Writes PREFIX.tokens and PREFIX.idx from <paramref name="archive"/>; <paramref name="progress"/> gets documents done.</summary>
    public static TokenFileHeader Write(string archive, string prefix, ITextTokenizer tokenizer, Action<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        string sourceSha = CorpusInspector.Sha256(archive);
        int tokenBytes = tokenizer.VocabSize <= ushort.MaxValue + 1 ? sizeof(ushort) : sizeof(int);
        string tokensPath = TokenFileFormat.TokensPath(prefix), indexPath = TokenFileFormat.IndexPath(prefix);
        string? folder = Path.GetDirectoryName(Path.GetFullPath(prefix));
        if (folder is not null) Directory.CreateDirectory(folder);

        var components = new List<string>();
        var componentIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var ids = new List<int>();
        var pending = new byte[FlushTokens * sizeof(int) * 2];
        var record = new byte[TokenFileFormat.RecordBytes];
        using var tokensHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long documents = 0, tokens = 0, textBytes = 0;
        TokenFileHeader header = PartialOutput.Write([tokensPath, indexPath], partials =>
        {
            using var reader = new LmdReader(archive);
            using var tokensFile = new FileStream(partials[0], FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            using var indexFile = new FileStream(partials[1], FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            indexFile.Write(TokenFileFormat.StartMagic);
            foreach (LmdDocument doc in reader.Documents())
            {
                string component = LmdMeta.Component(doc.MetaJson);
                if (!componentIds.TryGetValue(component, out int componentId))
                {
                    componentId = components.Count;
                    componentIds.Add(component, componentId);
                    components.Add(component);
                }
                ids.Clear();
                tokenizer.Encode(doc.Text, ids);
                long bytes = Encoding.UTF8.GetByteCount(doc.Text);
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(0), tokens);
                BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(8), ids.Count);
                BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(12), componentId);
                BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(16), bytes);
                indexFile.Write(record);
                ids.Add(tokenizer.EndOfText);
                WriteTokens(tokensFile, tokensHash, ids, tokenBytes, ref pending);
                tokens += ids.Count;
                textBytes += bytes;
                documents++;
                if (documents % 1000 == 0) progress?.Invoke(documents);
            }
            var written = new TokenFileHeader(tokenizer.Name, tokenizer.VocabSize, tokenizer.EndOfText, tokenBytes, documents, tokens, textBytes,
                sourceSha, Convert.ToHexStringLower(tokensHash.GetHashAndReset()), components);
            byte[] json = JsonSerializer.SerializeToUtf8Bytes(written);
            indexFile.Write(json);
            Span<byte> length = stackalloc byte[sizeof(long)];
            BinaryPrimitives.WriteInt64LittleEndian(length, json.Length);
            indexFile.Write(length);
            indexFile.Write(TokenFileFormat.EndMagic);
            tokensFile.Flush(flushToDisk: true);
            indexFile.Flush(flushToDisk: true);
            return written;
        });
        progress?.Invoke(documents);
        return header;
    }

    private static void WriteTokens(Stream file, IncrementalHash hash, List<int> ids, int tokenBytes, ref byte[] buffer)
    {
        int needed = ids.Count * tokenBytes;
        if (buffer.Length < needed) buffer = new byte[needed];
        Span<byte> span = buffer.AsSpan(0, needed);
        for (int i = 0; i < ids.Count; i++)
        {
            if (tokenBytes == sizeof(ushort)) BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)ids[i]);
            else BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], ids[i]);
        }
        file.Write(span);
        hash.AppendData(span);
    }
}
