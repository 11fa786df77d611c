using Grpc.Core;

namespace Hivemind.Volunteer.Client;

/// <summary>Exponential backoff with jitter, so that volunteers that lost the coordinator together do not return together.</summary>
public sealed class Backoff
{
    /// <summary>First wait; doubles per failed attempt.</summary>
    public static readonly TimeSpan Initial = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait between attempts.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    private readonly Random _rng;

    public Backoff(Random? rng = null) => _rng = rng ?? Random.Shared;

    /// <summary>The wait before attempt <paramref name="attempt"/> (0-based): full jitter in [½·d, d] where d = min(Max, Initial·2^attempt).</summary>
    public TimeSpan Next(int attempt)
    {
        double ceiling = Math.Min(Max.TotalMilliseconds, Initial.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 16)));
        return TimeSpan.FromMilliseconds(ceiling * (0.5 + 0.5 * _rng.NextDouble()));
    }

    /// <summary>Failures worth retrying: the coordinator is down, overloaded or restarting.</summary>
    public static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable or StatusCode.DeadlineExceeded
        or StatusCode.Internal or StatusCode.Unknown or StatusCode.Aborted or StatusCode.ResourceExhausted;
}
