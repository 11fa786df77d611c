using Grpc.Net.Client;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>The real <c>serve</c> entry point, in-process on loopback: its warnings, its log volume, its restart summary.</summary>
public sealed class ServeStartupTests
{
    /// <summary>Bound on start-up (libtorch and the tiny model) and on one training unit.</summary>
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    private const string Listening = @"listening on (http://\S+);";

    private static string[] ServeArgs(string dataDirectory, params string[] extra) =>
    [
        "serve", "--port", "0", "--data-directory", dataDirectory, "--preset", "tiny", "--seed", "7", "--quorum", "3",
        "--spare-leases", "0", "--inner-steps", "2", "--batch-size", "4", "--sequence-length", "32", "--eval-batches", "0", .. extra,
    ];

    [Fact]
    public async Task UnsafeSettingsAreWarnedOnStderrAndInTheLogAndCallsDoNotLogPerRequest()
    {
        using var scratch = new TempDirectory();
        using var log = new LogCapture();
        using var stop = new CancellationTokenSource();
        var (run, error) = CliRun.Start(ServeArgs(Path.Combine(scratch.Path, "data"), "--trunk-rule", "mean", "--expert-rule", "mean",
            "--spot-check-probability", "0", "--spot-check-probation-probability", "0"), log, stop.Token);
        try
        {
            string address = (await log.WaitForAsync(Listening, Patience)).Groups[1].Value;
            using var channel = GrpcChannel.ForAddress(address);
            var client = new Protocol.V1.Coordinator.CoordinatorClient(channel);
            const int calls = 5;
            for (int i = 0; i < calls; i++)
                await client.GetStatusAsync(new StatusRequest { ProtocolVersion = ProtocolVersion.Current });

            string stderr = error.ToString();
            Assert.Contains("WARNING: --trunk-rule is 'mean'", stderr);
            Assert.Contains("WARNING: --expert-rule is 'mean'", stderr);
            Assert.Contains("WARNING: admission is OPEN", stderr);
            Assert.Contains("WARNING: spot checks are OFF", stderr);
            var warnings = log.Entries.Where(e => e.Level == LogLevel.Warning && e.Category == "coordinator").Select(e => e.Message).ToList();
            Assert.Contains(warnings, w => w.StartsWith("--trunk-rule is 'mean'", StringComparison.Ordinal));
            Assert.Contains(warnings, w => w.StartsWith("--expert-rule is 'mean'", StringComparison.Ordinal));
            Assert.Contains(warnings, w => w.StartsWith("admission is OPEN", StringComparison.Ordinal));
            Assert.Contains(warnings, w => w.StartsWith("spot checks are OFF", StringComparison.Ordinal));

            // ASP.NET Core writes four Information lines per call unless quieted; gRPC its own at Debug.
            var perRequest = log.Entries.Where(e => e.Level >= LogLevel.Information &&
                                                    (e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) || e.Category.StartsWith("Grpc", StringComparison.Ordinal)))
                .ToList();
            Assert.True(perRequest.Count == 0, $"{calls} calls logged: {string.Join(" | ", perRequest.Take(8).Select(e => $"{e.Category}: {e.Message}"))}");
        }
        finally
        {
            await stop.CancelAsync();
        }
        Assert.Equal(0, await run.WaitAsync(Patience));
    }

    [Fact]
    public async Task ARestartLogsTheRoundAndAcceptedUpdatesItRestored()
    {
        using var scratch = new TempDirectory();
        string data = Path.Combine(scratch.Path, "data");
        string[] args = ServeArgs(data, "--trunk-rule", "median", "--expert-rule", "median", "--admission-token", "");

        using (var log = new LogCapture())
        using (var stop = new CancellationTokenSource())
        {
            var (run, _) = CliRun.Start(args, log, stop.Token);
            try
            {
                string address = (await log.WaitForAsync(Listening, Patience)).Groups[1].Value;
                Assert.Contains(log.Entries, e => e.Message.StartsWith($"new run in {data}", StringComparison.Ordinal));
                var owned = new List<IDisposable>();
                try
                {
                    var (volunteer, view) = TestVolunteer.Create(address, Path.Combine(scratch.Path, "cache"), owned, maxUnits: 1);
                    await volunteer.RunAsync(CancellationToken.None).WaitAsync(Patience);
                    Assert.Single(view.Accepted); // quorum is 3: the round stays open with one accepted update
                }
                finally
                {
                    foreach (var d in owned) d.Dispose();
                }
            }
            finally
            {
                await stop.CancelAsync();
            }
            Assert.Equal(0, await run.WaitAsync(Patience));
        }

        using (var log = new LogCapture())
        using (var stop = new CancellationTokenSource())
        {
            var (run, _) = CliRun.Start(args, log, stop.Token);
            try
            {
                await log.WaitForAsync(Listening, Patience);
                Assert.Contains(log.Entries, e => e.Level == LogLevel.Information &&
                                                  e.Message.StartsWith($"restored round 0 from {data}: 1 accepted updates", StringComparison.Ordinal));
            }
            finally
            {
                await stop.CancelAsync();
            }
            Assert.Equal(0, await run.WaitAsync(Patience));
        }
    }
}
