namespace Hivemind.Aggregation;

/// <summary>The label-flipping attack, applied by a red-team trainer to its own byte targets: t → 255 − t.</summary>
public static class LabelFlip
{
    /// <summary>Largest byte token; the vocabulary is 0..255.</summary>
    public const long MaxToken = 255;

    /// <summary>Flips every target in place; throws naming the first target outside 0..255.</summary>
    public static void Apply(Span<long> targets)
    {
        for (int i = 0; i < targets.Length; i++)
        {
            long t = targets[i];
            if (t < 0 || t > MaxToken)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), t, $"target {i} is {t}; label flip expects byte tokens 0..{MaxToken}.");
            }

            targets[i] = MaxToken - t;
        }
    }
}
