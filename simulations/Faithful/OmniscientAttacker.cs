using Hivemind.Aggregation;
using Hivemind.Aggregation.Attacks;
using Hivemind.Protocol.Tensors;
using Hivemind.Volunteer.Work;

namespace Hivemind.Simulations.Faithful;

/// <summary>
/// The Byzantine volunteers of a round acting together: they see every honest update of the round (as submitted, after the codec)
/// and craft theirs with the real attacks of Hivemind.Aggregation, tensor by tensor so shards of different experts work.
/// </summary>
public sealed class OmniscientAttacker(IAttack attack, int seed)
{
    // Keeps attack randomness apart from the other seeded streams.
    private const int AttackSeedSalt = 0x0A77AC;

    // One entry per work unit, in the order first seen: a unit trained again (its update was rejected and its lease handed back)
    // replaces its entry, so what is held is bounded by the round's units, not by how often they are retried.
    private readonly List<(ParameterSet Update, double Loss, string Worker)> _honest = [];

    // Karimireddy et al.'s mimic picks one worker per round from whole updates (not tensor by tensor): the round it chose for and whom.
    private long _mimicRound = -1;
    private string? _mimicWorker;
    private readonly Dictionary<string, int> _slotOfUnit = new(StringComparer.Ordinal);

    /// <summary>Honest updates held for the current round (at most one per work unit).</summary>
    public int Held => _honest.Count;

    /// <summary>Forgets the previous round's honest updates.</summary>
    public void NewRound()
    {
        _honest.Clear();
        _slotOfUnit.Clear();
    }

    /// <summary>Records the honest update of work unit <paramref name="unitId"/> of the current round, as the coordinator will decode it.</summary>
    public void SawHonest(string unitId, string worker, TrainedUpdate update)
    {
        var entry = (TensorCodec.Decode(update.Payload, long.MaxValue).Tensors, update.MeanLoss, worker);
        if (_slotOfUnit.TryGetValue(unitId, out int slot))
        {
            _honest[slot] = entry;
            return;
        }

        _slotOfUnit[unitId] = _honest.Count;
        _honest.Add(entry);
    }

    /// <summary>Crafts and signs the updates of every Byzantine unit in <paramref name="units"/> that has none yet.</summary>
    public void Craft(IReadOnlyList<UnitInFlight> units, long round)
    {
        var pending = units.Where(u => u.Update is null).ToList();
        if (pending.Count == 0)
        {
            return;
        }

        var rng = new Random(unchecked(seed ^ AttackSeedSalt ^ (int)round));
        var mimic = attack is MimicAttack { IsAdaptive: true } m ? m : null;
        if (mimic is not null && _mimicRound != round && _honest.Count > 0)
        {
            _mimicRound = round;
            _mimicWorker = _honest[mimic.SelectTarget(Flattened(), [.. _honest.Select(h => h.Worker)])].Worker;
        }

        var crafted = pending.Select(_ => new ParameterSet()).ToList();
        foreach (string name in pending.SelectMany(u => u.Shard.Names).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var holders = Enumerable.Range(0, pending.Count).Where(i => pending[i].Shard.Contains(name)).ToList();
            var honest = _honest.Where(h => h.Update.Contains(name)).Select(h => (ReadOnlyMemory<float>)h.Update[name].Values).ToList();
            var template = pending[holders[0]].Shard[name];
            float[][] vectors = honest.Count == 0
                ? holders.Select(_ => new float[template.Values.Length]).ToArray()
                : mimic is not null
                    ? MimicAttack.CopyOf(honest, Math.Max(0, _honest.Where(h => h.Update.Contains(name)).ToList().FindIndex(h => h.Worker == _mimicWorker)), holders.Count)
                    : attack.Craft(honest, holders.Count, rng);
            for (int j = 0; j < holders.Count; j++)
            {
                crafted[holders[j]].Add(new NamedTensor(name, template.Shape, vectors[j]));
            }
        }

        // Claim what an honest volunteer would: the honest mean loss and the unit's tokens, so weights do not give them away.
        double loss = _honest.Count == 0 ? 0 : _honest.Average(h => h.Loss);
        for (int i = 0; i < pending.Count; i++)
        {
            var u = pending[i];
            long tokens = (long)u.Spec.Training.InnerSteps * u.Spec.Training.BatchSize * u.Spec.Training.SeqLen;
            u.Update = WorkUnitRunner.Seal(u.Spec, crafted[i], u.Volunteer.Identity, loss, tokens);
        }
    }

    /// <summary>Each held honest update as one vector over the tensors every one of them has (name order), for whole-update attacks.</summary>
    private List<ReadOnlyMemory<float>> Flattened()
    {
        var names = _honest.Select(h => h.Update.Names).Aggregate((a, b) => a.Intersect(b, StringComparer.Ordinal).ToList())
            .Order(StringComparer.Ordinal).ToList();
        return [.. _honest.Select(h => (ReadOnlyMemory<float>)names.SelectMany(n => h.Update[n].Values).ToArray())];
    }
}
