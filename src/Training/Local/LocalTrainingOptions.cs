namespace Hivemind.Training;

/// <summary>Hyper-parameters of one work unit's inner loop (H AdamW steps).</summary>
/// <param name="InnerSteps">H: AdamW steps before the pseudo-gradient is taken.</param>
/// <param name="ClipNorm">Global gradient-norm clip; 0 or less disables clipping.</param>
/// <param name="WarmupSteps">Linear learning-rate warm-up over the first steps; 0 for none.</param>
/// <param name="Seed">Seeds libtorch's generator, so nothing random slips in unseeded.</param>
/// <param name="TargetTransform">Red-team hook: rewrites the target bytes of each batch (label flip); null for honest training.</param>
public sealed record LocalTrainingOptions(
    int InnerSteps,
    int BatchSize,
    int SeqLen,
    double LearningRate,
    double WeightDecay,
    int WarmupSteps,
    double ClipNorm,
    long Seed,
    Action<Span<long>>? TargetTransform = null)
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the bad value and its valid range.</summary>
    public void Validate(ModelConfig config)
    {
        if (InnerSteps < 1) throw new ArgumentException($"InnerSteps is {InnerSteps}; a work unit needs at least 1 inner step.");
        if (BatchSize < 1) throw new ArgumentException($"BatchSize is {BatchSize}; it must be at least 1.");
        if (SeqLen < 1 || SeqLen > config.ContextLength)
            throw new ArgumentException($"SeqLen is {SeqLen}; model '{config.Name}' accepts 1..{config.ContextLength}.");
        if (!double.IsFinite(LearningRate) || LearningRate <= 0) throw new ArgumentException($"LearningRate is {LearningRate}; use a finite value > 0 (e.g. 1e-3).");
        if (!double.IsFinite(WeightDecay) || WeightDecay < 0) throw new ArgumentException($"WeightDecay is {WeightDecay}; use a finite value >= 0 (e.g. 0.1).");
        if (WarmupSteps < 0) throw new ArgumentException($"WarmupSteps is {WarmupSteps}; use 0 for no warm-up.");
        if (double.IsNaN(ClipNorm)) throw new ArgumentException("ClipNorm is NaN; use 0 to disable clipping or a positive norm such as 1.0.");
        if (!double.IsFinite(FinalLearningRateFraction) || FinalLearningRateFraction <= 0 || FinalLearningRateFraction > 1)
            throw new ArgumentException($"FinalLearningRateFraction is {FinalLearningRateFraction}; use a value in (0, 1] (1 keeps the rate constant after the warm-up, 0.1 decays it to a tenth).");
    }

    /// <summary>
    /// The rate the last step ends at, as a fraction of <see cref="LearningRate"/>: 1 (the default) keeps the rate constant after the
    /// warm-up; below 1 the rate follows a half cosine from the end of the warm-up down to this fraction at the last step, the schedule
    /// central language-model runs use. Not sent to volunteers: a unit's H steps always run at a constant rate.
    /// </summary>
    public double FinalLearningRateFraction { get; init; } = 1.0;

    /// <summary>Learning rate of step <paramref name="step"/> (0-based): linear warm-up, then constant or a cosine decay (<see cref="FinalLearningRateFraction"/>).</summary>
    public double LearningRateAt(int step)
    {
        if (step < WarmupSteps) return LearningRate * Math.Min(1.0, (step + 1) / (double)WarmupSteps);
        if (FinalLearningRateFraction >= 1 || InnerSteps - WarmupSteps <= 1) return LearningRate;
        double progress = Math.Min(1.0, (step - WarmupSteps) / (double)(InnerSteps - WarmupSteps - 1));
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * progress));
        return LearningRate * (FinalLearningRateFraction + (1 - FinalLearningRateFraction) * cosine);
    }
}
