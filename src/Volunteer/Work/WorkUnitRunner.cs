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
/// A trained update whose payload lives in a pooled buffer (<see cref="WorkUnitRunner.SealPooled"/>, the volunteer client's path). This
/// object is one lease on the payload: keep a <see cref="Share"/> for as long as anything reads it (an upload and its retries, the base of
/// an eager unit) and dispose each once; the buffer goes back to the pool after the last.
/// </summary>
public sealed record PooledUpdate(SignedEnvelope Envelope, PayloadLease Payload, double MeanLoss, long Tokens) : IDisposable
{
    /// <summary>The same update under a lease of its own.</summary>
    public PooledUpdate Share() => this with { Payload = Payload.Share() };

    public void Dispose() => Payload.Dispose();
}

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
        var (update, meanLoss, tokens) = Train(unit, shardParameters, behavior, progress, attackSeed, ct, fileForHash);
        return Seal(unit, update, identity, meanLoss, tokens, feedback);
    }

    /// <summary>As <see cref="Run"/>, with the payload encoded into a buffer rented from <paramref name="buffers"/> (the volunteer client's path).</summary>
    public static PooledUpdate RunPooled(
        UnitSpec unit, ParameterSet shardParameters, VolunteerIdentity identity, PayloadBufferPool buffers, Behavior behavior = Behavior.Honest,
        IProgress<TrainingProgress>? progress = null, CancellationToken ct = default, Func<string, string>? fileForHash = null, ErrorFeedback? feedback = null)
    {
        var (update, meanLoss, tokens) = Train(unit, shardParameters, behavior, progress, null, ct, fileForHash);
        return SealPooled(unit, update, identity, meanLoss, tokens, buffers, feedback);
    }

    private static (ParameterSet Update, double MeanLoss, long Tokens) Train(
        UnitSpec unit, ParameterSet shardParameters, Behavior behavior, IProgress<TrainingProgress>? progress, int? attackSeed, CancellationToken ct,
        Func<string, string>? fileForHash)
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
        return (UpdateTampering.Apply(behavior, honest, rng), result.MeanLoss, result.Tokens);
    }

    /// <summary>
    /// Encodes and signs an update for a unit. With a lossy codec and <paramref name="feedback"/>, the residual of earlier updates is
    /// added first and what this payload does not carry becomes the new residual (error feedback).
    /// </summary>
    public static TrainedUpdate Seal(UnitSpec unit, ParameterSet update, VolunteerIdentity identity, double meanLoss, long tokens, ErrorFeedback? feedback = null)
    {
        byte[] payload = feedback is not null && unit.CodecSettings.UsesFeedback ? feedback.Encode(update, unit.CodecSettings) : TensorCodec.Encode(update, unit.CodecSettings);
        return new TrainedUpdate(Sign(unit, identity, payload, meanLoss, tokens), payload, meanLoss, tokens);
    }

    /// <summary>
    /// As <see cref="Seal"/> (the same bytes and envelope), with the payload in a buffer rented from <paramref name="buffers"/>: no new
    /// multi-MiB array, and so none of its page faults, per unit. The caller owns the result and disposes it (and each share) once.
    /// </summary>
    public static PooledUpdate SealPooled(UnitSpec unit, ParameterSet update, VolunteerIdentity identity, double meanLoss, long tokens,
        PayloadBufferPool buffers, ErrorFeedback? feedback = null)
    {
        var payload = EncodeUpdate(update, unit.CodecSettings, buffers, feedback);
        try
        {
            return new PooledUpdate(Sign(unit, identity, payload.Bytes.Span, meanLoss, tokens), payload, meanLoss, tokens);
        }
        catch
        {
            payload.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The encoding step of <see cref="SealPooled"/> alone (the codec benchmark times exactly this). With error feedback (top-k) the payload
    /// is the feedback's own array, unpooled: it is about 1% of the fp32 size, and the feedback allocates fp32-sized sums anyway.
    /// </summary>
    public static PayloadLease EncodeUpdate(ParameterSet update, CodecSettings codec, PayloadBufferPool buffers, ErrorFeedback? feedback = null) =>
        feedback is not null && codec.UsesFeedback ? PayloadLease.Unpooled(feedback.Encode(update, codec)) : TensorCodec.Encode(update, codec, buffers);

    private static SignedEnvelope Sign(UnitSpec unit, VolunteerIdentity identity, ReadOnlySpan<byte> payload, double meanLoss, long tokens)
    {
        var envelope = new UpdateEnvelope(
            ProtocolVersion.Current, identity.PublicKey, unit.Id, (ulong)unit.Round, (ulong)unit.Version,
            unit.Shard.Experts.Select(e => new ExpertKey(e.Layer, e.Expert)).ToList(), true, unit.Codec,
            (ulong)payload.Length, SHA256.HashData(payload), (ulong)tokens, meanLoss, unit.RunId);
        return EnvelopeSigner.Sign(identity, envelope);
    }
}
