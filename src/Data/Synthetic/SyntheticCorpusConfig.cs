namespace Hivemind.Data;

/// <summary>Parameters of the synthetic multi-domain corpus; the same config always builds the same chains.</summary>
/// <param name="Seed">Master seed of the chains (not of the streams drawn from them).</param>
/// <param name="Domains">Number of domains, each its own chain (1 to 128).</param>
/// <param name="Order">Previous bytes that form a state (1 to 4).</param>
/// <param name="Successors">Possible next letters per state; ln(Successors) bounds the entropy rate.</param>
/// <param name="Alphabet">Letters per domain, drawn from printable ASCII (2 to 95); each domain draws its own.</param>
/// <param name="MinProbability">Floor on every transition probability, so no successor is negligible.</param>
public sealed record SyntheticCorpusConfig(
    long Seed,
    int Domains = 4,
    int Order = 2,
    int Successors = 4,
    int Alphabet = 16,
    double MinProbability = 0.02)
{
    /// <summary>Largest supported order.</summary>
    public const int MaxOrder = 4;

    /// <summary>Largest supported Alphabet^Order, which bounds chain memory and build time.</summary>
    public const int MaxStates = 1 << 20;

    /// <summary>Largest domain count: each domain needs its own tag byte (0x80 + domain).</summary>
    public const int MaxDomains = 128;

    /// <summary>Letters come from printable ASCII, 0x20 to 0x7E, so generated text can be read.</summary>
    public const int PrintableCount = 0x7F - 0x20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value and its allowed range.</summary>
    public void Validate()
    {
        if (Domains < 1 || Domains > MaxDomains)
        {
            throw new ArgumentException($"Domains = {Domains} is out of range; use 1 to {MaxDomains}.");
        }
        if (Order < 1 || Order > MaxOrder)
        {
            throw new ArgumentException($"Order = {Order} is out of range; use 1 to {MaxOrder}.");
        }
        if (Alphabet < 2 || Alphabet > PrintableCount)
        {
            throw new ArgumentException($"Alphabet = {Alphabet} is out of range; use 2 to {PrintableCount} letters.");
        }
        if (Successors < 1 || Successors > Alphabet)
        {
            throw new ArgumentException($"Successors = {Successors} is out of range; use 1 to Alphabet ({Alphabet}).");
        }
        if (Math.Pow(Alphabet, Order) > MaxStates)
        {
            throw new ArgumentException($"Alphabet^Order = {Alphabet}^{Order} states exceeds {MaxStates}; lower Alphabet or Order.");
        }
        if (!(MinProbability >= 0 && MinProbability * Successors <= 1))
        {
            throw new ArgumentException($"MinProbability = {MinProbability} is out of range; use 0 to 1/Successors = {1.0 / Successors}.");
        }
    }
}
