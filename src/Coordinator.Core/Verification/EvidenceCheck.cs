using System.Security.Cryptography;
using Hivemind.Data;
using Hivemind.Protocol.Envelopes;
using Hivemind.Protocol.Identity;
using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Verification;

/// <summary>The result of re-running a failed check from its evidence file.</summary>
/// <param name="Confirmed">The signature verifies, the payload is the signed one, and a fresh recomputation disagrees with it beyond the thresholds.</param>
/// <param name="Problems">Why the evidence does not hold (empty when confirmed).</param>
/// <param name="Fresh">The claimed update against this process's recomputation.</param>
/// <param name="Reproduction">This process's recomputation against the coordinator's (how close two honest runs came).</param>
public sealed record EvidenceCheck(bool Confirmed, IReadOnlyList<string> Problems, UpdateDivergence? Fresh, UpdateDivergence? Reproduction)
{
    /// <summary>
    /// Checks everything a third party can: the Ed25519 signature with the key inside the envelope, that the payload is the one the
    /// envelope's SHA-256 names and belongs to the recipe's unit, that the unit's data is the one its seeds name (a real-text unit's
    /// slice bytes hash to the slice's SHA-256), then re-runs the unit from the start parameters and the kept data and compares.
    /// What it cannot check alone is that the start parameters are the model version the unit named: compare
    /// <see cref="SpotCheckEvidence.StartSha256"/> with the coordinator's published checkpoint of that version.
    /// </summary>
    public static EvidenceCheck Run(SpotCheckEvidence evidence, CancellationToken ct = default)
    {
        var problems = new List<string>();
        UpdateEnvelope envelope;
        try
        {
            envelope = EnvelopeSerializer.Deserialize(evidence.Envelope);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new EvidenceCheck(false, [$"the envelope does not parse ({e.Message})"], null, null);
        }
        if (!EnvelopeSigner.Verify(evidence.Envelope, evidence.Signature, envelope.VolunteerKey))
            problems.Add("the signature does not verify with the key in the envelope: nothing ties the payload to the volunteer");
        if (VolunteerIds.FromPublicKey(envelope.VolunteerKey) != evidence.VolunteerId)
            problems.Add($"the envelope's key is volunteer {VolunteerIds.FromPublicKey(envelope.VolunteerKey)}, not {evidence.VolunteerId}");
        if (!SHA256.HashData(evidence.Payload).AsSpan().SequenceEqual(envelope.PayloadSha256))
            problems.Add("the payload's SHA-256 differs from the signed one");
        if (envelope.WorkUnitId != evidence.Recipe.WorkUnitId || (long)envelope.Round != evidence.Recipe.Round || (long)envelope.ModelVersion != evidence.Recipe.Version)
            problems.Add($"the envelope is for unit {envelope.WorkUnitId} (round {envelope.Round}, version {envelope.ModelVersion}), not the recipe's {evidence.Recipe.WorkUnitId}");
        problems.AddRange(evidence.Recipe.DataProblems(evidence.Slice));
        if (problems.Count > 0) return new EvidenceCheck(false, problems, null, null);

        ParameterSet claimed;
        try
        {
            claimed = TensorCodec.Decode(evidence.Payload, evidence.Payload.LongLength).Tensors;
        }
        catch (Exception e) when (e is PayloadFormatException or InvalidDataException or ArgumentException)
        {
            return new EvidenceCheck(false, [$"the payload does not decode ({e.Message})"], null, null);
        }
        ParameterSet recomputed;
        try
        {
            var unit = evidence.Recipe.Build();
            recomputed = Recomputation.Run(unit, evidence.Start, unit.Data.Kind == DataKind.TokenSlice ? evidence.Slice : null, ct);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or InvalidDataException)
        {
            // A v1 file from a real-text unit lands here: its recipe rebuilds a synthetic unit that does not fit its start parameters.
            string why = evidence.FormatVersion == 1
                ? "; a v1 evidence file does not keep the unit's data, so only a unit on the synthetic corpus re-runs from it"
                : "";
            return new EvidenceCheck(false, [$"the unit cannot be re-run from this file ({e.Message}){why}"], null, null);
        }
        var fresh = UpdateDivergence.Measure(claimed, recomputed);
        var reproduction = UpdateDivergence.Measure(recomputed, evidence.Recomputed);
        // A v1 recipe names no data: a unit that trained on real text is rebuilt on the synthetic corpus and re-run on the wrong rows.
        // Its coordinator's recomputation then does not reproduce, so the file cannot show anything.
        if (evidence.FormatVersion == 1 && !evidence.Thresholds.Passes(reproduction))
            problems.Add($"this recomputation does not reproduce the coordinator's ({reproduction}): a v1 evidence file does not keep the unit's data, so a unit that trained on real text cannot be re-run from it");
        if (evidence.Thresholds.Passes(fresh))
            problems.Add($"a fresh recomputation agrees with the payload within the thresholds ({fresh}): the check does not fail again");
        return new EvidenceCheck(problems.Count == 0, problems, fresh, reproduction);
    }
}
