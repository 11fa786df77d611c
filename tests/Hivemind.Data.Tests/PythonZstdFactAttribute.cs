namespace Hivemind.Data.Tests;

/// <summary>A fact that is skipped, with the reason, when Debian's python3-zstandard is not installed.</summary>
public sealed class PythonZstdFactAttribute : FactAttribute
{
    public PythonZstdFactAttribute()
    {
        if (PythonZstd.WhyUnavailable is { } why) Skip = why;
    }
}
