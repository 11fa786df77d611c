using System.Security.Cryptography;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Coordinator.Tests.Infrastructure;

/// <summary>
/// A coordinator engine on a fake clock with in-process volunteers that run the real trainer, sign with real
/// keys and submit through the same verification path as gRPC (minus the transport).
/// </summary>
public sealed class EngineHarness : IDisposable
{
    /// <summary>Memory the test volunteers declare; enough for every expert of tiny.</summary>
    public const long VolunteerMemory = 2L << 30;

    private readonly TempDirectory _dir = new();
    private readonly List<VolunteerIdentity> _identities = [];

    public EngineHarness(Func<CoordinatorOptions, CoordinatorOptions>? configure = null, string? dataDirectory = null)
    {
        TorchRuntime.EnsureLoaded();
        // Results are bitwise reproducible for a given thread count; every test trains on one.
        TorchSharp.torch.set_num_threads(1);
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
        Options = (configure ?? (o => o))(TinyOptions(dataDirectory ?? Path.Combine(_dir.Path, "data")));
        Engine = CoordinatorEngine.Open(Options, Time);
    }

    public FakeTimeProvider Time { get; }

    public CoordinatorOptions Options { get; private set; }

    public CoordinatorEngine Engine { get; private set; }

    public string Scratch => _dir.Path;

    /// <summary>tiny, short units: a round of four volunteers trains in about a second.</summary>
    public static CoordinatorOptions TinyOptions(string dataDirectory) => new()
    {
        DataDirectory = dataDirectory,
        Preset = "tiny",
        Seed = 7,
        Quorum = 4,
        SpareLeases = 0,
        InnerSteps = 5,
        BatchSize = 4,
        SequenceLength = 32,
        InnerLearningRate = 3e-3,
        EvalBatches = 2,
        Codec = "fp16",
        RoundTimeout = TimeSpan.FromMinutes(5),
        LeaseDuration = TimeSpan.FromMinutes(2),
        // First-come and seeded: each engine test decides who asks when; the draw and probation have their own adversarial tests.
        ParticipantDrawWindow = TimeSpan.Zero,
        // Sessions outlive the fake clock's jumps past deadlines; session expiry has its own adversarial test.
        HeartbeatInterval = TimeSpan.FromMinutes(10),
        MaxLeaseDuration = TimeSpan.FromMinutes(30),
        DeterministicPlanning = true,
        // Spot checks are on by default; pinned off here because a drawn check recomputes on a background thread (its timing and
        // ledger entries would vary between runs) and crafted updates would be banned. The tests ABOUT spot checks set their rates.
        SpotCheckProbability = 0,
        SpotCheckProbationProbability = 0,
        // Volunteers would rebuild version 0 from the seed and skip its download; the tests of downloads, relays and caches are about the
        // download itself. SeedDownloadTests turn it on.
        SeedDownloads = false,
    };

    /// <summary>Closes and reopens the engine on the same data directory, as a restart after a crash would.</summary>
    public void Restart()
    {
        Engine.Dispose();
        Engine = CoordinatorEngine.Open(Options, Time);
    }

    /// <param name="source">The address the join comes from (join limits, and blind checkers' distinct-source rule).</param>
    public Volunteer Join(long memory = VolunteerMemory, string source = "")
    {
        var identity = VolunteerIdentity.Create();
        _identities.Add(identity);
        var (nonce, _) = Engine.IssueChallenge(identity.PublicKey);
        var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, Engine.RunId, nonce, (ulong)memory, "cpu", "");
        var (id, session) = Engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, (ulong)memory, "cpu", "", source);
        return new Volunteer(this, identity, id, session);
    }

    public static UnitSpec ToSpec(WorkUnit unit) => new(
        unit.Id, unit.Round, unit.Version, unit.Model, unit.Shard, unit.Data, unit.Training,
        unit.Codec) { RunId = unit.RunId, KeptPerBlock = unit.KeptPerBlock };

    /// <summary>Writes a trained update's payload as the gRPC service would and builds the submission.</summary>
    public SubmittedUpdate Submission(TrainedUpdate update, string? sessionVolunteerId = null, byte[]? payloadOverride = null)
    {
        byte[] payload = payloadOverride ?? update.Payload;
        string path = Path.Combine(_dir.Path, Guid.NewGuid().ToString("N") + ".part");
        File.WriteAllBytes(path, payload);
        return new SubmittedUpdate(update.Envelope.Bytes, update.Envelope.Signature, path, payload.Length, SHA256.HashData(payload), sessionVolunteerId);
    }

    private string? _mirror;

    /// <summary>A volunteer's verified local copy of a real-text unit's token slice (the engine's corpus mirrored once, as --data-mirror serves it).</summary>
    public string SliceFile(string sha256)
    {
        if (_mirror is null)
        {
            _mirror = Path.Combine(_dir.Path, "mirror");
            Engine.Text!.WriteMirror(_mirror);
        }
        return Path.Combine(_mirror, Hivemind.Data.TokenSlice.FileNameFor(sha256));
    }

    public void Dispose()
    {
        Engine.Dispose();
        foreach (var identity in _identities) identity.Dispose();
        _dir.Dispose();
    }

    /// <summary>A joined in-process volunteer.</summary>
    public sealed record Volunteer(EngineHarness Harness, VolunteerIdentity Identity, string Id, string Session)
    {
        public WorkUnit Lease() =>
            Harness.Engine.RequestWork(Session).Unit ?? throw new InvalidOperationException("expected a work unit, got none");

        public TrainedUpdate Train(WorkUnit unit, Behavior behavior = Behavior.Honest) =>
            WorkUnitRunner.Run(ToSpec(unit), Harness.Engine.ShardParameters(Session, unit.Version, unit.Id), Identity, behavior,
                fileForHash: unit.Data.Kind == Hivemind.Data.DataKind.TokenSlice ? Harness.SliceFile : null);

        public long Submit(TrainedUpdate update) => Harness.Engine.Submit(Harness.Submission(update, Id));

        /// <summary>Lease, train and submit one unit.</summary>
        public long Work(Behavior behavior = Behavior.Honest) => Submit(Train(Lease(), behavior));
    }

    /// <summary>Rows of <paramref name="table"/> as a separate, read-only connection to the store file sees them (committed data only).</summary>
    public long CommittedRows(string table)
    {
        string path = Path.Combine(Options.DataDirectory, "coordinator.db");
        using var db = new Microsoft.Data.Sqlite.SqliteConnection(new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = path, Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadOnly, Pooling = false,
        }.ToString());
        db.Open();
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
