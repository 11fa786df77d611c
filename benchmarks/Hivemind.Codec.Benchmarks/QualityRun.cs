using System.Security.Cryptography;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Work;
using Microsoft.Extensions.Time.Testing;

namespace Hivemind.Codec.Benchmarks;

/// <summary>Outcome of one in-process run: final held-out loss and traffic.</summary>
internal sealed record QualityResult(QualitySetting Setting, long Seed, double FinalLoss, long BytesUp, long BytesDown, long Tokens, long ModelParameters, int InnerSteps, long TokensPerStep)
{
    /// <summary>Bytes of each volunteer's very first download (the steps since θ_0 rebuilt from the seed, or the full shard; once per volunteer).</summary>
    public long BytesFirstDownloads { get; init; }
}

/// <summary>
/// One DiLoCo run in process: the real engine (aggregation, outer step, step broadcast), the real volunteer runner and codecs, with
/// download bytes computed as the gRPC client would fetch them (see <see cref="DownloadBytes"/>); the traffic command measures them instead.
/// </summary>
internal static class QualityRun
{
    private const long VolunteerMemory = 2L << 30;

    /// <param name="data">A corpus folder (real text, checked by <see cref="QualityData.Resolve"/>), or null for the synthetic corpus.</param>
    public static QualityResult Run(QualitySetting setting, long seed, int volunteers, int rounds, int innerSteps, string scratch, string? data = null)
    {
        string dir = Path.Combine(scratch, $"run-{Guid.NewGuid():N}");
        var options = Options(setting, seed, volunteers, rounds, innerSteps, dir, data);
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch + TimeSpan.FromDays(20000));
        var churn = new Random(unchecked((int)seed * 31 + 7));
        var pool = new List<Member>();
        try
        {
            using var engine = CoordinatorEngine.Open(options, time);
            for (int i = 0; i < volunteers; i++) pool.Add(Member.Join(engine));
            long parameters = ModelInit.Initialize(engine.Model, seed).ElementCount;
            // Data bytes (a slice per unit, fetched once and cached by a volunteer) are not counted: data-parallel training reads its data too.
            var slices = engine.Text is { } text ? QualityData.SliceFiles(text, Path.Combine(dir, "slices")) : null;
            var stepCodec = setting.Down == "full" ? (CodecSettings?)null : WorkUnitFactory.ParseCodec(setting.Down, setting.DownDensity);
            long up = 0, down = 0, tokens = 0, first = 0;
            double loss = double.NaN;
            for (int r = 0; r < rounds; r++)
            {
                foreach (var m in pool)
                {
                    var unit = engine.RequestWork(m.Session).Unit ?? throw new InvalidOperationException($"round {r}: no work for a volunteer");
                    var shard = engine.ShardParameters(m.Session, unit.Version, unit.Id);
                    long bytes = DownloadBytes(m, unit, shard, stepCodec, options.MaxDownloadSteps);
                    down += bytes;
                    if (!m.Started) first += bytes;
                    m.Started = true;
                    m.HeldVersion = unit.Version;
                    m.HeldShard = unit.Shard;
                    var spec = new UnitSpec(unit.Id, unit.Round, unit.Version, unit.Model, unit.Shard, unit.Data, unit.Training, unit.Codec) { RunId = unit.RunId, KeptPerBlock = unit.KeptPerBlock };
                    var trained = WorkUnitRunner.Run(spec, shard, m.Identity, fileForHash: slices, feedback: setting.Residual == ResidualMode.None ? null : m.Feedback);
                    up += trained.Payload.Length;
                    tokens += trained.Tokens;
                    string path = Path.Combine(dir, Guid.NewGuid().ToString("N") + ".part");
                    File.WriteAllBytes(path, trained.Payload);
                    engine.Submit(new SubmittedUpdate(trained.Envelope.Bytes, trained.Envelope.Signature, path, trained.Payload.Length, SHA256.HashData(trained.Payload), m.Id));
                    if (setting.Residual == ResidualMode.Churn && churn.NextDouble() < QualitySetting.ChurnProbability)
                    {
                        // A newcomer takes the place: no residual, no held parameters (θ_0 from the seed at most, see DownloadBytes).
                        m.Feedback.Clear();
                        m.HeldVersion = null;
                    }
                }
                var summary = engine.Tick() ?? throw new InvalidOperationException($"round {r} did not close with {volunteers} updates");
                loss = summary.EvalLoss ?? double.NaN;
            }
            return new QualityResult(setting, seed, loss, up, down, tokens, parameters, innerSteps, 4L * 32) { BytesFirstDownloads = first };
        }
        finally
        {
            foreach (var m in pool) m.Identity.Dispose();
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Scratch only; the OS cleans temp.
            }
        }
    }

    /// <summary>The coordinator's options for a run of this setting: the quality runs and the traffic measurement share them.</summary>
    public static CoordinatorOptions Options(QualitySetting setting, long seed, int volunteers, int rounds, int innerSteps, string dir, string? data) => new CoordinatorOptions
    {
        DataDirectory = dir,
        Preset = "tiny",
        Seed = seed,
        Quorum = volunteers,
        SpareLeases = 0,
        InnerSteps = innerSteps,
        BatchSize = 4,
        SequenceLength = 32,
        InnerLearningRate = 3e-3,
        EvalBatches = 16,
        MaxRounds = rounds,
        Codec = setting.Up,
        CodecDensity = setting.UpDensity,
        DownloadCodec = setting.Down,
        DownloadDensity = setting.DownDensity,
        OuterLearningRate = setting.OuterLearningRate,
        OuterMomentum = setting.OuterMomentum,
        RoundTimeout = TimeSpan.FromMinutes(5),
        LeaseDuration = TimeSpan.FromMinutes(30),
        MaxLeaseDuration = TimeSpan.FromHours(2),
        ParticipantDrawWindow = TimeSpan.Zero,
        HeartbeatInterval = TimeSpan.FromMinutes(10),
        DeterministicPlanning = true,
        JoinsPerMinute = 1000,
        // Spot checks (on by default) pinned off: the runs compare codecs' loss curves and must be reproducible from the seed.
        SpotCheckProbability = 0,
        SpotCheckProbationProbability = 0,
        Data = data ?? "",
    };

    /// <summary>
    /// What the gRPC client downloads for this unit: nothing (cached), else by the coordinator's rule (<see cref="DownloadChoice"/>) the
    /// steps since its held version for the tensors it holds plus the shard's other tensors in fp32, or the full shard. Under a step
    /// codec a newcomer holds θ_0 rebuilt from the seed (version 0: nothing to download at version 0) and a full download is the
    /// compressed form this build's volunteer asks for, its bytes computed by compressing the shard. The "full" download setting stays
    /// the issue's uncompressed DiLoCo reference: fp32 shard every time.
    /// </summary>
    private static long DownloadBytes(Member m, WorkUnit unit, ParameterSet shard, CodecSettings? stepCodec, int maxSteps)
    {
        var shapes = shard.Select(t => (t.Name, t.Shape)).ToList();
        if (m.HeldVersion == unit.Version && m.HeldShard is { } same && unit.Shard.Experts.All(same.HoldsExpert)) return 0;
        if (stepCodec is not { } codec) return TensorCodec.EncodedLength(shapes, PayloadCodec.Fp32);
        (long held, ShardSpec? heldShard) = (-1, null);
        if (m.HeldVersion is { } v && m.HeldShard is { } s) (held, heldShard) = (v, s);
        else if (unit.InitSeed is not null) (held, heldShard) = (0, unit.Shard);
        if (held == unit.Version) return 0;
        long? steps = null;
        if (heldShard is not null && held >= 0 && held < unit.Version && unit.Version - held <= maxSteps)
        {
            var heldShapes = shapes.Where(t => heldShard.Holds(t.Name)).ToList();
            var others = shapes.Where(t => !heldShard.Holds(t.Name)).ToList();
            steps = (unit.Version - held) * TensorCodec.EncodedLength(heldShapes, codec) + (others.Count == 0 ? 0 : TensorCodec.EncodedLength(others, PayloadCodec.Fp32));
        }
        long full = Fp32ShuffleZstd.Encode(TensorCodec.Encode(shard, PayloadCodec.Fp32)).LongLength;
        return (long)DownloadChoice.Bytes(steps, full);
    }

    /// <summary>An in-process volunteer: key, session, residual and the version it holds.</summary>
    private sealed class Member
    {
        public required VolunteerIdentity Identity { get; init; }

        public required string Id { get; init; }

        public required string Session { get; init; }

        public ErrorFeedback Feedback { get; } = new();

        public long? HeldVersion { get; set; }

        /// <summary>Whether this volunteer has downloaded before (its first download is a one-time cost).</summary>
        public bool Started { get; set; }

        public ShardSpec? HeldShard { get; set; }

        public static Member Join(CoordinatorEngine engine)
        {
            var identity = VolunteerIdentity.Create();
            var (nonce, _) = engine.IssueChallenge(identity.PublicKey);
            var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, engine.RunId, nonce, (ulong)VolunteerMemory, "cpu", "");
            var (id, session) = engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, (ulong)VolunteerMemory, "cpu", "", "127.0.0.1", "bench");
            return new Member { Identity = identity, Id = id, Session = session };
        }
    }
}
