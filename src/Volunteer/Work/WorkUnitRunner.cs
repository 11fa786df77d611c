using Hivemind.Aggregation;
using Hivemind.Data;
using Hivemind.Protocol;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;
using Hivemind.Volunteer.Behaviors;
using System.Security.Cryptography;

namespace Hivemind.Volunteer.Work;

/// <summary>A trained, encoded and signed update, ready to upload.</summary>
public sealed record TrainedUpdate(SignedEnvelope Envelope, byte[] Payload, double MeanLoss, long Tokens);

/// <summary>
/// Trains one work unit and seals the result: H inner steps from the downloaded shard, the pseudo-gradient
/// θ_start − θ_end, the behaviour (honest unless red-teaming), the codec, the envelope and its signature.
/// Transport-free, so the gRPC client, the tests and the simulator run exactly the same code.
/// </summary>
public static class WorkUnitRunner
{
    public static TrainedUpdate Run(
        UnitSpec unit, ParameterSet shardParameters, VolunteerIdentity identity, Behavior behavior = Behavior.Honest,
        IProgress<TrainingProgress>? progress = null, int? attackSeed = null, CancellationToken ct = default, Func<string, string>? fileForHash = null,
        ErrorFeedback? feedback = null)
    {
        var options = behavior == Behavior.LabelFlip ? unit.Training with { TargetTransform = LabelFlip.Apply } : unit.Training;
        var result = LocalTrainer.Train(unit.Model, shardParameters, unit.Shard, BatchSources.Open(unit.Data, fileForHash), options, progress, ct);
        var honest = new List<ParameterSet> { result.PseudoGradient };
        if (UpdateTampering.NeedsEstimates(behavior))
        {
            for (int i = 1; i < UpdateTampering.EstimationRuns; i++)
            {
                var other = unit.Data with { SliceSeed = unit.Data.SliceSeed ^ (0x5A5A_0000L + i) };
                honest.Add(LocalTrainer.Train(unit.Model, shardParameters, unit.Shard, BatchSources.Open(other, fileForHash), unit.Training with { Seed = unit.Training.Seed + i }, null, ct).PseudoGradient);
            }
        }
        var rng = new Random(attackSeed ?? unchecked((int)unit.Training.Seed));
        var update = UpdateTampering.Apply(behavior, honest, rng);
        return Seal(unit, update, identity, result.MeanLoss, result.Tokens, feedback);
    }

    /// <summary>
    /// Encodes and signs an update for a unit. With a lossy codec and <paramref name="feedback"/>, the residual of earlier updates is
    /// added first and what this payload does not carry becomes the new residual (error feedback).
    /// </summary>
    public static TrainedUpdate Seal(UnitSpec unit, ParameterSet update, VolunteerIdentity identity, double meanLoss, long tokens, ErrorFeedback? feedback = null)
    {
        byte[] payload = feedback is not null && unit.CodecSettings.UsesFeedback ? feedback.Encode(update, unit.CodecSettings) : TensorCodec.Encode(update, unit.CodecSettings);
        var envelope = new UpdateEnvelope(
            ProtocolVersion.Current, identity.PublicKey, unit.Id, (ulong)unit.Round, (ulong)unit.Version,
            unit.Shard.Experts.Select(e => new ExpertKey(e.Layer, e.Expert)).ToList(), true, unit.Codec,
            (ulong)payload.Length, SHA256.HashData(payload), (ulong)tokens, meanLoss, unit.RunId);
        return new TrainedUpdate(EnvelopeSigner.Sign(identity, envelope), payload, meanLoss, tokens);
    }
}
