using Hivemind.Data;
using Hivemind.Protocol.Tensors;
using static TorchSharp.torch;

namespace Hivemind.Training;

/// <summary>
/// Held-out bits per byte per component and overall, as The Pile's paper reports: the model's total
/// cross-entropy on the documents' tokens (in bits) over the documents' UTF-8 bytes, so models with
/// different tokenizers, and compressors, are compared on the same scale.
/// </summary>
/// <remarks>
/// Per component, whole documents are taken in file order until a token budget is reached
/// (<see cref="HeldOutSelection"/>); they are
/// packed as [end-of-text, document, end-of-text, document, ...] and cut into rows of up to SeqLen
/// predictions. Every document token is scored exactly once; end-of-text targets carry no bytes and are
/// not scored. The overall row is every scored token over every scored byte.
/// </remarks>
public static class PileEvaluator
{
    /// <summary>Scores <paramref name="parameters"/> on <paramref name="heldOut"/>; <paramref name="source"/> names the table's column.</summary>
    public static BitsPerByteTable Evaluate(ModelConfig config, ParameterSet parameters, TokenFile heldOut, int seqLen, int batchSize,
        long tokensPerComponent, string source)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(heldOut);
        if (heldOut.Header.VocabSize != config.VocabSize)
        {
            throw new ArgumentException($"{heldOut.Prefix} was tokenized with {heldOut.Header.Tokenizer} ({heldOut.Header.VocabSize} ids) but model '{config.Name}' has VocabSize {config.VocabSize}; "
                + $"use ModelConfig.Preset(name, tokenizer) with the same tokenizer, or re-tokenize the held-out set.");
        }
        if (seqLen < 1 || seqLen > config.ContextLength)
        {
            throw new ArgumentOutOfRangeException(nameof(seqLen), seqLen, $"the sequence length must be in [1, {config.ContextLength}] (the model's context).");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(tokensPerComponent, 1L);
        TorchRuntime.EnsureLoaded();
        using var model = MoeTransformer.Create(config, Evaluator.ShardOf(config, parameters), parameters);
        model.eval();
        using var noGrad = no_grad();

        var rows = new List<BitsPerByteRow>();
        double totalNats = 0;
        long totalBytes = 0, totalDocuments = 0;
        IReadOnlyList<IReadOnlyList<long>> selection = HeldOutSelection.Select(heldOut, tokensPerComponent);
        for (int c = 0; c < selection.Count; c++)
        {
            if (selection[c].Count == 0) continue;
            var (stream, bytes) = Pack(heldOut, selection[c]);
            double nats = Score(model, stream, heldOut.Header.EndOfText, seqLen, batchSize);
            rows.Add(new BitsPerByteRow(heldOut.Header.Components[c], selection[c].Count, bytes, Bits(nats, bytes)));
            totalNats += nats;
            totalBytes += bytes;
            totalDocuments += selection[c].Count;
        }
        return new BitsPerByteTable(source, rows, new BitsPerByteRow(BitsPerByteTable.Overall, totalDocuments, totalBytes, Bits(totalNats, totalBytes)));
    }

    private static double Bits(double nats, long bytes) => bytes == 0 ? double.NaN : nats / Math.Log(2) / bytes;

    // The selected documents, each after an end-of-text.
    private static (long[] Stream, long Bytes) Pack(TokenFile file, IReadOnlyList<long> documents)
    {
        var stream = new List<long>();
        long bytes = 0;
        foreach (long i in documents)
        {
            TokenDocument doc = file.Document(i);
            var tokens = new long[doc.TokenCount];
            file.Read(doc.FirstToken, tokens);
            stream.Add(file.Header.EndOfText);
            stream.AddRange(tokens);
            bytes += doc.TextBytes;
        }
        return ([.. stream], bytes);
    }

    // Sum of -ln p(target) over every non-end-of-text target of the stream, in rows of up to seqLen predictions.
    private static double Score(MoeTransformer model, long[] stream, int endOfText, int seqLen, int batchSize)
    {
        int predictions = stream.Length - 1;
        int fullRows = predictions / seqLen;
        double nats = 0;
        for (int first = 0; first < fullRows; first += batchSize)
        {
            int rows = Math.Min(batchSize, fullRows - first);
            nats += ScoreRows(model, stream, first * seqLen, rows, seqLen, endOfText);
        }
        int rest = predictions - fullRows * seqLen;
        if (rest > 0) nats += ScoreRows(model, stream, fullRows * seqLen, 1, rest, endOfText);
        return nats;
    }

    private static double ScoreRows(MoeTransformer model, long[] stream, int start, int rows, int length, int endOfText)
    {
        var inputs = new long[rows * length];
        var targets = new long[rows * length];
        for (int r = 0; r < rows; r++)
        {
            stream.AsSpan(start + r * length, length).CopyTo(inputs.AsSpan(r * length));
            stream.AsSpan(start + r * length + 1, length).CopyTo(targets.AsSpan(r * length));
        }
        using var scope = NewDisposeScope();
        var hidden = model.ForwardHidden(tensor(inputs, [rows, length])).Hidden;
        var perToken = ChunkedCrossEntropy.PerRowLoss(hidden.reshape(-1, model.Config.Width), model.HeadWeight, tensor(targets));
        float[] losses = perToken.data<float>().ToArray();
        double sum = 0;
        for (int i = 0; i < losses.Length; i++)
        {
            if (targets[i] != endOfText) sum += losses[i];
        }
        return sum;
    }
}
