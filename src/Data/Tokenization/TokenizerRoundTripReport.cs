namespace Hivemind.Data;

/// <summary>Outcome of <see cref="TokenizerRoundTrip.Check"/>: sizes, documents that did not round-trip, encoding time.</summary>
/// <param name="Tokenizer">Tokenizer name.</param>
/// <param name="Documents">Documents checked.</param>
/// <param name="Tokens">Tokens produced (no end-of-text ids).</param>
/// <param name="TextBytes">UTF-8 bytes of the texts.</param>
/// <param name="Mismatches">Documents whose decoded text differs.</param>
/// <param name="Examples">The first few mismatches, by line.</param>
/// <param name="EncodeTime">Time spent encoding (one thread).</param>
public sealed record TokenizerRoundTripReport(string Tokenizer, long Documents, long Tokens, long TextBytes, long Mismatches,
    IReadOnlyList<string> Examples, TimeSpan EncodeTime)
{
    /// <summary>Tokens encoded per second of encoding time.</summary>
    public double TokensPerSecond => Tokens / Math.Max(EncodeTime.TotalSeconds, 1e-9);
}
