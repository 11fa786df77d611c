using Hivemind.Coordinator.Dashboard;
using Hivemind.Coordinator.Hosting;
using Hivemind.Coordinator.Rounds;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Volunteer.Work;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>
/// The in-process engine (fake clock, real trainer and signatures) inside the real host with the dashboard on a free
/// loopback port; rounds are driven by in-process volunteers and closed by the host's round loop.
/// </summary>
public sealed class DashboardHarness : IAsyncDisposable
{
    /// <summary>Bound on waiting for one round of tiny to train and close on a loaded 2-core machine.</summary>
    public static readonly TimeSpan RoundTimeout = TimeSpan.FromMinutes(3);

    private DashboardHarness(EngineHarness engine, WebApplication app, IReadOnlyList<EngineHarness.Volunteer> volunteers)
    {
        Harness = engine;
        App = app;
        Volunteers = volunteers;
        Address = app.DashboardAddress()!;
    }

    public EngineHarness Harness { get; }

    public CoordinatorEngine Engine => Harness.Engine;

    public WebApplication App { get; }

    public IReadOnlyList<EngineHarness.Volunteer> Volunteers { get; }

    /// <summary>The dashboard's base address, e.g. http://127.0.0.1:40123.</summary>
    public string Address { get; }

    public SnapshotPublisher Snapshots => App.Services.GetRequiredService<SnapshotPublisher>();

    /// <summary>Tokens a unit of these options trains (what credit counts per accepted update).</summary>
    public long TokensPerUnit => (long)Harness.Options.InnerSteps * Harness.Options.BatchSize * Harness.Options.SequenceLength;

    public static async Task<DashboardHarness> StartAsync(int volunteers = 2)
    {
        var harness = new EngineHarness(o => o with { Quorum = volunteers });
        var app = CoordinatorHost.Build(harness.Engine, new ListenSettings("127.0.0.1", 0), l => l.SetMinimumLevel(LogLevel.Warning),
            new DashboardSettings(0) { Time = harness.Time });
        await app.StartAsync();
        var joined = Enumerable.Range(0, volunteers).Select(_ => harness.Join()).ToList();
        return new DashboardHarness(harness, app, joined);
    }

    /// <summary>Every volunteer trains and submits one unit; returns when the host's round loop has closed the round.</summary>
    public async Task RunRoundAsync(Action<EngineHarness.Volunteer, TrainedUpdate>? afterSubmit = null)
    {
        long round = Engine.Round;
        var closed = new TaskCompletionSource<RoundSummary>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnClosed(RoundSummary s)
        {
            if (s.Round == round) closed.TrySetResult(s);
        }
        Engine.RoundClosed += OnClosed;
        try
        {
            foreach (var v in Volunteers)
            {
                var update = v.Train(v.Lease());
                v.Submit(update);
                afterSubmit?.Invoke(v, update);
            }
            try
            {
                await closed.Task.WaitAsync(RoundTimeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"round {round} did not close within {RoundTimeout} after {Volunteers.Count} updates; the engine is at round {Engine.Round}.");
            }
        }
        finally
        {
            Engine.RoundClosed -= OnClosed;
        }
    }

    /// <summary>Accepted updates per volunteer, counted from the store's ledger.</summary>
    public Dictionary<string, long> LedgerCounts()
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (long r = 0; r <= Engine.Round; r++)
            foreach (var u in Engine.Store.Updates(r))
                counts[u.VolunteerId] = counts.GetValueOrDefault(u.VolunteerId) + 1;
        return counts;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        Harness.Dispose();
    }

    /// <summary>
    /// Different signed content for a unit whose update was accepted (the same payload, another mean loss): an
    /// equivocation, which the engine rejects and counts against the volunteer. (A byte-identical resend is idempotent.)
    /// </summary>
    public static Hivemind.Protocol.Errors.ProtocolException Equivocate(EngineHarness.Volunteer v, TrainedUpdate accepted)
    {
        return Xunit.Assert.Throws<Hivemind.Protocol.Errors.ProtocolException>(() => v.Submit(Resigned(v.Identity, accepted)));
    }

    /// <summary><paramref name="accepted"/> with the same payload but another mean loss, signed again: different signed content for the same unit.</summary>
    public static TrainedUpdate Resigned(Hivemind.Protocol.Identity.VolunteerIdentity identity, TrainedUpdate accepted)
    {
        var e = accepted.Envelope.Envelope;
        var other = new Hivemind.Protocol.Envelopes.UpdateEnvelope(e.ProtocolVersion, e.VolunteerKey, e.WorkUnitId, e.Round, e.ModelVersion,
            e.Experts, e.IncludesTrunk, e.Codec, e.PayloadLength, e.PayloadSha256, e.Tokens, e.MeanLoss + 1, e.RunId);
        return accepted with { Envelope = Hivemind.Protocol.Envelopes.EnvelopeSigner.Sign(identity, other) };
    }
}
