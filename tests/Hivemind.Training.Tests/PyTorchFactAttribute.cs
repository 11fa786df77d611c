namespace Hivemind.Training.Tests;

/// <summary>A fact that is skipped, with the reason, when the PyTorch reference cannot run on this host.</summary>
internal sealed class PyTorchFactAttribute : FactAttribute
{
    public PyTorchFactAttribute()
    {
        if (PyTorchReference.WhyUnavailable is { } why) Skip = why;
    }
}
