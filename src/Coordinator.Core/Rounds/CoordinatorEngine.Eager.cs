using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>
/// Eager units (issue 16, item 3: a one-step-delayed outer update). While round r closes, a volunteer whose update to round r was
/// accepted may take a unit of round r + 1 at once instead of idling: same shard, trained from version r minus its own accepted
/// update (<see cref="EagerBase"/>: its own result, which this coordinator can rebuild), aggregated into round r + 1, one version
/// late. Submitted before round r + 1 opens, it is told to come back; once the round is more than --max-staleness versions
/// past r it is stale like any other late update.
/// </summary>
public sealed partial class CoordinatorEngine
{
    private int _nextEagerIndex;

    /// <summary>An eager unit of the next round for <paramref name="v"/>, or null when none may be leased now; a place in the lease commit queue is reserved. Caller holds the lock.</summary>
    private WorkUnitRecord? TryLeaseEager(VolunteerRecord v, DateTimeOffset now)
    {
        if (_options.EagerSlots == 0) return null;
        // An eager unit takes a place in the next round outside its participant draw and probation share, so only keys that have
        // left probation get one: a fresh key could otherwise hold a place in every round by winning a single draw.
        if (OnProbation(v.Id)) return null;
        long next = _round + 1;
        if (_options.MaxRounds > 0 && next >= _options.MaxRounds) return null;
        // Its base: the key's own update accepted into the open round (the last one, when a small pool let it train several).
        var own = _accepted.LastOrDefault(u => u.Record.VolunteerId == v.Id);
        if (own is null) return null;
        int ahead = 0;
        foreach (var l in _leases.Values)
        {
            if (l.Round != next || l.State == "expired") continue;
            if (l.VolunteerId == v.Id) return null; // one eager unit per key and round
            ahead++;
        }
        if (ahead >= _options.EagerSlots) return null;
        int index = _nextEagerIndex++;
        var record = new WorkUnitRecord(
            UnitId(next, "e", index),
            next, _round, v.Id, ShardText.Format(own.Shard), index, now.ToUnixTimeMilliseconds(),
            (now + _options.LeaseDuration).ToUnixTimeMilliseconds(), "leased") { BaseUnitId = own.Record.WorkUnitId };
        QueueLease(record);
        return record;
    }

    /// <summary>
    /// Where an eager unit started: the shard at its version minus its base unit's decoded update, both read from this coordinator's own
    /// state (the current parameters or the version's checkpoint, and the stored payload). Caller holds the lock.
    /// </summary>
    private ParameterSet EagerStart(WorkUnitRecord lease, ShardSpec shard)
    {
        var version = lease.Version == _round ? Shards.Extract(_global, shard) : Shards.Extract(SafeTensors.Read(CheckpointPathOf(lease.Version)), shard);
        var baseUpdate = _store.Updates(lease.Version).FirstOrDefault(u => u.WorkUnitId == lease.BaseUnitId)
            ?? throw new InvalidDataException($"eager unit {lease.Id} names base unit {lease.BaseUnitId}, which has no accepted update in round {lease.Version}");
        var payload = _verifier.Decode(Resolve(baseUpdate.PayloadPath), shard, _units.Codec);
        return EagerBase.Apply(version, payload);
    }

    private string CheckpointPathOf(long version)
    {
        string path = _checkpoints.ParametersPath(version);
        if (!File.Exists(path)) throw new InvalidDataException($"the checkpoint of version {version} ({path}) was pruned");
        return path;
    }
}
