namespace Hivemind.Training;

/// <summary>Reported after each inner step: 1-based step, step count and that step's cross-entropy (nats per byte).</summary>
public sealed record TrainingProgress(int Step, int Steps, double Loss);
