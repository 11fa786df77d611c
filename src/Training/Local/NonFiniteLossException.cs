namespace Hivemind.Training;

/// <summary>Training diverged: the loss or gradient norm became NaN or infinite, so no update is produced.</summary>
public sealed class NonFiniteLossException(int step, double loss, string what = "loss")
    : Exception($"{what} became {loss} at inner step {step}; the work unit is stopped and no update is sent. " +
                "Lower the learning rate, raise the warm-up or enable gradient clipping (ClipNorm = 1).")
{
    public int Step { get; } = step;

    public double Loss { get; } = loss;
}
