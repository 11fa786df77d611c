using System.Diagnostics;

namespace Hivemind.Coordinator.Metrics;

/// <summary>
/// Times every SubmitUpdate call at the front of the coordinator's pipeline (so the gRPC service needs no metrics
/// code): from the first byte of the request to the reply, accepted or rejected.
/// </summary>
public sealed class SubmitTimingStartupFilter(CoordinatorMetrics metrics) : IStartupFilter
{
    /// <summary>The HTTP/2 path of the SubmitUpdate method, from the generated service descriptor.</summary>
    public static readonly string SubmitPath = $"/{Protocol.V1.Coordinator.Descriptor.FullName}/SubmitUpdate";

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(async (context, inner) =>
        {
            if (!string.Equals(context.Request.Path.Value, SubmitPath, StringComparison.Ordinal))
            {
                await inner(context);
                return;
            }
            long start = Stopwatch.GetTimestamp();
            try
            {
                await inner(context);
            }
            finally
            {
                metrics.ObserveSubmit(Stopwatch.GetElapsedTime(start));
            }
        });
        next(app);
    };
}
