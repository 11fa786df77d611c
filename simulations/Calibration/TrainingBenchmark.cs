using System.Diagnostics;
using Hivemind.Coordinator;
using Hivemind.Coordinator.Planning;
using Hivemind.Coordinator.Rounds;
using Hivemind.Protocol;
using Hivemind.Protocol.Identity;
using Hivemind.Simulations.Faithful;
using Hivemind.Training;
using Hivemind.Volunteer.Work;

namespace Hivemind.Simulations.Calibration;

/// <summary>One preset's measured work-unit speed on one training thread.</summary>
/// <param name="Preset">Model preset.</param>
/// <param name="BatchSize">Sequences per inner step (the coordinator's default).</param>
/// <param name="SequenceLength">Tokens per sequence (the coordinator's default).</param>
/// <param name="InnerSteps">H (the coordinator's default).</param>
/// <param name="Units">Units timed after the warm-up one.</param>
/// <param name="SecondsPerUnit">Mean wall time of <see cref="WorkUnitRunner.Run"/> (train, encode, sign).</param>
/// <param name="TokensPerSecond">Trained tokens per wall second.</param>
/// <param name="FlopsPerToken">Model training FLOPs per token at <paramref name="SequenceLength"/>.</param>
public sealed record TrainingMeasurement(
    string Preset, int BatchSize, int SequenceLength, int InnerSteps, int Units, double SecondsPerUnit, double TokensPerSecond, double FlopsPerToken)
{
    /// <summary>Model FLOP/s reached: FLOPs per token × tokens per second.</summary>
    public double EffectiveFlops => FlopsPerToken * TokensPerSecond;
}

/// <summary>Times real work units (<see cref="WorkUnitRunner"/> on a unit leased from a real engine) per preset on one thread.</summary>
public static class TrainingBenchmark
{
    // Every loop is bounded: at most this many timed units per preset, whatever the time budget.
    private const int MaxUnits = 50;

    /// <summary>Leases a unit of <paramref name="preset"/> at the coordinator's default batch, sequence length and H, and times it.</summary>
    public static TrainingMeasurement Measure(string preset, TimeSpan budget)
    {
        TorchRuntime.EnsureLoaded();
        TorchSharp.torch.set_num_threads(1);
        string scratch = Path.Combine(Path.GetTempPath(), "hm-calibrate-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Defaults of CoordinatorOptions for the unit's shape; one volunteer and quorum 1 so a unit is leased at once.
            var options = new CoordinatorOptions
            {
                DataDirectory = scratch, Preset = preset, Quorum = 1, Replication = 1, SpareLeases = 0, MaxRounds = 1,
                JoinsPerMinute = int.MaxValue, ParticipantDrawWindow = TimeSpan.Zero,
                // Spot checks (on by default) pinned off: a recomputation would share the cores of the unit being timed.
                SpotCheckProbability = 0, SpotCheckProbationProbability = 0,
            };
            using var engine = CoordinatorEngine.Open(options, TimeProvider.System);
            using var identity = VolunteerIdentity.Create();
            var model = engine.Model;
            long memory = new ShardPlanner(model, model.TrunkParameters, model.ParametersPerExpert).MemoryNeeded(model.Experts);
            var (nonce, _) = engine.IssueChallenge(identity.PublicKey);
            var signature = JoinChallenge.Sign(identity, ProtocolVersion.Current, engine.RunId, nonce, (ulong)memory, "cpu", "");
            var (_, session) = engine.Join(ProtocolVersion.Current, identity.PublicKey, nonce, signature, (ulong)memory, "cpu", "");
            var unit = engine.RequestWork(session).Unit
                ?? throw new InvalidOperationException($"the {preset} engine leased no unit to its only volunteer; check CoordinatorOptions");
            var shard = engine.ShardParameters(session, unit.Version, unit.Id);
            var spec = FaithfulSimulation.ToSpec(unit);

            // The first unit pays TorchSharp's and the JIT's start-up; a volunteer pays it once, so it is not timed.
            WorkUnitRunner.Run(spec, shard, identity);
            var watch = Stopwatch.StartNew();
            int units = 0;
            while (units < MaxUnits && (units == 0 || watch.Elapsed < budget))
            {
                WorkUnitRunner.Run(spec, shard, identity);
                units++;
            }

            double seconds = watch.Elapsed.TotalSeconds / units;
            long tokens = (long)options.InnerSteps * options.BatchSize * options.SequenceLength;
            return new TrainingMeasurement(preset, options.BatchSize, options.SequenceLength, options.InnerSteps, units, seconds,
                tokens / seconds, model.TrainingFlopsPerTokenAt(options.SequenceLength));
        }
        finally
        {
            try
            {
                Directory.Delete(scratch, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless; the OS cleans its temp directory.
            }
        }
    }
}
