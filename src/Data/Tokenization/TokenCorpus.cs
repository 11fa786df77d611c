using System.Security.Cryptography;
using Microsoft.Win32.SafeHandles;

namespace Hivemind.Data;

/// <summary>
/// A prepared corpus folder (what scripts/build-mini-pile.sh or <c>hivemind-corpus tokenize</c> writes: train.tokens/.idx and
/// held-out.tokens/.idx) as a coordinator serves it: the training tokens cut into fixed-size slices, each named by the SHA-256 of
/// its bytes, so a work unit names its data by hash and a volunteer checks whatever it fetched (from the coordinator or a mirror)
/// against that hash.
/// </summary>
public sealed class TokenCorpus : IDisposable
{
    /// <summary>Tokens per slice: 1 Mi ids (2 MiB for GPT-2 or bytes), many work units of data, small enough to fetch in seconds.</summary>
    public const long DefaultSliceTokens = 1L << 20;

    /// <summary>Name (prefix) of the training token file in a corpus folder.</summary>
    public const string TrainName = "train";

    /// <summary>Name (prefix) of the held-out token file in a corpus folder.</summary>
    public const string HeldOutName = "held-out";

    private const int HashBufferBytes = 1 << 20;

    private readonly Dictionary<string, TokenSlice> _byHash;
    private readonly SafeFileHandle _tokens;

    private TokenCorpus(string folder, TokenFile train, TokenFile heldOut, IReadOnlyList<TokenSlice> slices, SafeFileHandle tokens)
    {
        Folder = folder;
        Train = train;
        HeldOut = heldOut;
        Slices = slices;
        _tokens = tokens;
        _byHash = new Dictionary<string, TokenSlice>(StringComparer.Ordinal);
        foreach (var s in slices) _byHash.TryAdd(s.Sha256, s);
    }

    /// <summary>The corpus folder.</summary>
    public string Folder { get; }

    /// <summary>Training tokens: what the slices cut.</summary>
    public TokenFile Train { get; }

    /// <summary>Held-out tokens: evaluation only, never served.</summary>
    public TokenFile HeldOut { get; }

    /// <summary>The training slices, in file order.</summary>
    public IReadOnlyList<TokenSlice> Slices { get; }

    /// <summary>Tokenizer name of both token files.</summary>
    public string Tokenizer => Train.Header.Tokenizer;

    /// <summary>Vocabulary of both token files (a model trains on them with this VocabSize).</summary>
    public int VocabSize => Train.Header.VocabSize;

    /// <summary>Opens <paramref name="folder"/> and hashes its slices (one sequential read of train.tokens).</summary>
    public static TokenCorpus Open(string folder, long sliceTokens = DefaultSliceTokens)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentOutOfRangeException.ThrowIfLessThan(sliceTokens, 2L);
        if (!Directory.Exists(folder))
        {
            throw new ArgumentException($"corpus folder '{folder}' does not exist; build one with `bash scripts/build-mini-pile.sh {folder}` or `hivemind-corpus tokenize`.");
        }
        TokenFile train = TokenFile.Open(Path.Combine(folder, TrainName));
        TokenFile? heldOut = null;
        try
        {
            heldOut = TokenFile.Open(Path.Combine(folder, HeldOutName));
            if (heldOut.Header.Tokenizer != train.Header.Tokenizer || heldOut.Header.VocabSize != train.Header.VocabSize)
            {
                throw new ArgumentException($"'{folder}': train was tokenized with {train.Header.Tokenizer} ({train.Header.VocabSize} ids) but held-out with {heldOut.Header.Tokenizer} ({heldOut.Header.VocabSize}); tokenize both with the same --tokenizer.");
            }
            if (train.Length < 2)
            {
                throw new ArgumentException($"'{folder}': train.tokens holds {train.Length} tokens; a corpus needs at least 2.");
            }
            string path = TokenFileFormat.TokensPath(train.Prefix);
            var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            try
            {
                return new TokenCorpus(folder, train, heldOut, HashSlices(handle, train, sliceTokens), handle);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }
        catch
        {
            heldOut?.Dispose();
            train.Dispose();
            throw;
        }
    }

    /// <summary>The slice named <paramref name="sha256"/>, if this corpus has one.</summary>
    public bool TryFind(string sha256, out TokenSlice slice) => _byHash.TryGetValue(sha256, out slice!);

    /// <summary>The data spec of a work unit that trains on slice <paramref name="index"/> with rows drawn from <paramref name="seed"/>.</summary>
    public DataSpec Spec(int index, long seed)
    {
        TokenSlice s = Slices[index];
        return DataSpec.TokenSlice(s.Sha256, s.ByteLength, s.TokenBytes, VocabSize, seed);
    }

    /// <summary>Copies bytes [offset, offset + into.Length) of <paramref name="slice"/> into <paramref name="into"/>.</summary>
    public void Read(TokenSlice slice, long offset, Span<byte> into)
    {
        ArgumentNullException.ThrowIfNull(slice);
        if (offset < 0 || offset + into.Length > slice.ByteLength)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"bytes [{offset}, {offset + into.Length}) are not inside slice {slice.Sha256} ({slice.ByteLength} bytes).");
        }
        while (into.Length > 0)
        {
            int read = RandomAccess.Read(_tokens, into, slice.ByteStart + offset);
            if (read == 0) throw new EndOfStreamException($"{Train.Prefix}.tokens ended inside slice {slice.Index}; the file changed since the corpus was opened.");
            offset += read;
            into = into[read..];
        }
    }

    /// <summary>Writes every slice as SHA256.tokens into <paramref name="mirror"/>: what <c>--data-mirror</c> serves.</summary>
    public void WriteMirror(string mirror)
    {
        Directory.CreateDirectory(mirror);
        foreach (TokenSlice s in Slices)
        {
            var bytes = new byte[s.ByteLength];
            Read(s, 0, bytes);
            File.WriteAllBytes(Path.Combine(mirror, s.FileName), bytes);
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _tokens.Dispose();
        Train.Dispose();
        HeldOut.Dispose();
    }

    // Fixed-size slices; the last one absorbs the remainder, so none is shorter than sliceTokens (or the whole file).
    private static List<TokenSlice> HashSlices(SafeFileHandle handle, TokenFile train, long sliceTokens)
    {
        int width = train.Header.TokenBytes;
        long count = Math.Max(1, train.Length / sliceTokens);
        var slices = new List<TokenSlice>((int)count);
        var buffer = new byte[HashBufferBytes];
        for (long i = 0; i < count; i++)
        {
            long start = i * sliceTokens;
            long tokens = i == count - 1 ? train.Length - start : sliceTokens;
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long position = start * width, end = (start + tokens) * width;
            while (position < end)
            {
                int want = (int)Math.Min(buffer.Length, end - position);
                int read = RandomAccess.Read(handle, buffer.AsSpan(0, want), position);
                if (read == 0) throw new EndOfStreamException($"{train.Prefix}.tokens is shorter than its index says; re-run `hivemind-corpus tokenize`.");
                sha.AppendData(buffer, 0, read);
                position += read;
            }
            slices.Add(new TokenSlice((int)i, Convert.ToHexStringLower(sha.GetHashAndReset()), start, tokens, width));
        }
        return slices;
    }
}
