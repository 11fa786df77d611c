using Hivemind.Simulations.Timing;

namespace Hivemind.Simulations.Scenarios;

/// <summary>Checks a parsed scenario's values; each problem names the field, the value and what to do.</summary>
public static class ScenarioValidator
{
    private const double BytesPerGiB = 1024.0 * 1024 * 1024;

    /// <summary>Every problem found, empty when the scenario can run.</summary>
    public static IEnumerable<string> Problems(Scenario s)
    {
        if (string.IsNullOrWhiteSpace(s.Name))
        {
            yield return "name: must not be empty";
        }

        foreach (var p in Model(s.Model)) yield return p;
        foreach (var p in Training(s.Training, s.Model)) yield return p;
        if (s.Codec.Int8BlockSize is { } block) yield return $"codec.int8BlockSize = {block}: remove it; sizes come from the real codec (src/Protocol/Tensors, int8 blocks of {Hivemind.Protocol.Tensors.TensorCodec.Int8BlockSize})";
        foreach (var p in Volunteers(s.Volunteers)) yield return p;
        foreach (var p in Round(s.Round)) yield return p;
        if (!(s.Coordinator.LinkMbps > 0)) yield return $"coordinator.linkMbps = {s.Coordinator.LinkMbps}: must be > 0";
        if (s.Coordinator.AggregationCores < 1) yield return $"coordinator.aggregationCores = {s.Coordinator.AggregationCores}: must be >= 1";
        if (s.Coordinator.MemoryGiB is { } gib && !(gib > 0)) yield return $"coordinator.memoryGiB = {gib}: must be > 0 (leave it out for unbounded memory)";
        if (s.Coordinator.MemoryGiB is { } memory && memory > 0 && !Model(s.Model).Any() && s.Training.ExpertsPerShard >= 1)
        {
            double least = Hivemind.Simulations.Scale.ScaleConfig.MinimumMemoryBytes(new ModelCost(s.Model.ToShape()), s.Training.ExpertsPerShard);
            if (memory * BytesPerGiB < least)
            {
                yield return $"coordinator.memoryGiB = {memory}: cannot hold the model, its outer momentum and one decoded update ({least / BytesPerGiB:0.#} GiB); raise it or leave it out (unbounded)";
            }
        }

        var table = new DeviceTable(s.Devices.Select(d => d.ToSpec()));
        for (int i = 0; i < s.Devices.Count; i++)
        {
            var d = s.Devices[i];
            if (!(d.PeakBf16Tflops > 0) || !(d.PeakFp32Tflops > 0) || !(d.MemoryGiB > 0) || !(d.Utilization > 0 && d.Utilization <= 1))
            {
                yield return $"devices[{i}] ('{d.Name}'): peakBf16Tflops, peakFp32Tflops, memoryGiB must be > 0 and utilization in (0, 1]";
            }

            foreach (var (preset, u) in d.PresetUtilization ?? [])
            {
                if (!(u > 0 && u <= 1))
                {
                    yield return $"devices[{i}] ('{d.Name}').presetUtilization.{preset} = {u}: must be in (0, 1]";
                }
            }
        }

        var model = new ModelCost(s.Model.ToShape());
        double shardBytes = model.ShardParameters(s.Training.ExpertsPerShard) * s.Training.BytesPerParameter;
        var named = s.Volunteers.Devices.Select((d, i) => ($"volunteers.devices[{i}].device", d.Device))
            .Concat((s.Sweep?.Devices ?? []).Select((d, i) => ($"sweep.devices[{i}]", d)))
            .Concat((s.ClusterMatch?.Devices ?? []).Select((d, i) => ($"clusterMatch.devices[{i}]", d)));
        foreach (var (path, name) in named)
        {
            if (!table.Contains(name))
            {
                yield return $"{path} = '{name}' is not in the device table (known: {table.KnownNames}); add a row under \"devices\" or pick a known name";
            }
            else if (s.Mode == ScenarioMode.Scale && shardBytes > table[name].MemoryGiB * BytesPerGiB)
            {
                yield return $"{path} = '{name}': a shard of {model.ShardParameters(s.Training.ExpertsPerShard):N0} parameters needs "
                    + $"{shardBytes / BytesPerGiB:F1} GiB to train but the device has {table[name].MemoryGiB} GiB; lower training.expertsPerShard or the model size, or pick a larger device";
            }
        }

        if (s.Mode == ScenarioMode.Faithful)
        {
            foreach (var p in FaithfulProblems.Of(s, table)) yield return p;
        }
        else
        {
            foreach (var p in Coverage(s)) yield return p;
        }

        if (s.Sweep is { } sweep) foreach (var p in Sweep(sweep)) yield return p;
        if (s.ClusterMatch is { } match) foreach (var p in ClusterMatch(match, table)) yield return p;
    }

    private static IEnumerable<string> Model(ModelSection m)
    {
        if (m.Layers < 1) yield return $"model.layers = {m.Layers}: must be >= 1";
        if (m.DModel < 1) yield return $"model.dModel = {m.DModel}: must be >= 1";
        if (m.Experts < 1) yield return $"model.experts = {m.Experts}: must be >= 1";
        if (m.TopK < 1 || m.TopK > m.Experts) yield return $"model.topK = {m.TopK}: must be between 1 and model.experts ({m.Experts})";
        if (m.ExpertHidden < 1) yield return $"model.expertHidden = {m.ExpertHidden}: must be >= 1";
        if (m.Vocab < 1) yield return $"model.vocab = {m.Vocab}: must be >= 1 (256 for bytes)";
        if (m.ContextLength < 1) yield return $"model.contextLength = {m.ContextLength}: must be >= 1";
    }

    private static IEnumerable<string> Training(TrainingSection t, ModelSection m)
    {
        if (t.InnerSteps < 1) yield return $"training.innerSteps = {t.InnerSteps}: must be >= 1";
        if (t.TokensPerStep < 1) yield return $"training.tokensPerStep = {t.TokensPerStep}: must be >= 1";
        if (t.ExpertsPerShard < m.TopK || t.ExpertsPerShard > m.Experts)
        {
            yield return $"training.expertsPerShard = {t.ExpertsPerShard}: must be between model.topK ({m.TopK}) and model.experts ({m.Experts}), since the router is masked to the experts a shard holds";
        }

        if (t.Replication < 1) yield return $"training.replication = {t.Replication}: must be >= 1";
        if (!(t.BytesPerParameter > 0)) yield return $"training.bytesPerParameter = {t.BytesPerParameter}: must be > 0 (16 for AdamW in mixed precision)";
    }

    private static IEnumerable<string> Volunteers(VolunteersSection v)
    {
        if (v.Count < 1) yield return $"volunteers.count = {v.Count}: must be >= 1";
        if (v.Devices.Count == 0) yield return "volunteers.devices: empty; list at least one {\"device\": \"rtx3090\"}";
        for (int i = 0; i < v.Devices.Count; i++)
        {
            if (!(v.Devices[i].Weight > 0)) yield return $"volunteers.devices[{i}].weight = {v.Devices[i].Weight}: must be > 0";
        }

        foreach (var p in v.DownloadMbps.Validate("volunteers.downloadMbps")) yield return p;
        foreach (var p in v.UploadMbps?.Validate("volunteers.uploadMbps") ?? []) yield return p;
        foreach (var p in v.LatencyMs.Validate("volunteers.latencyMs")) yield return p;
        foreach (var p in v.SessionHours?.Validate("volunteers.sessionHours") ?? []) yield return p;
        foreach (var p in v.OfflineHours.Validate("volunteers.offlineHours")) yield return p;
        if (v.Stragglers.Fraction is < 0 or > 1) yield return $"volunteers.stragglers.fraction = {v.Stragglers.Fraction}: must be in [0, 1]";
        if (!(v.RelayFraction is >= 0 and <= 1)) yield return $"volunteers.relayFraction = {v.RelayFraction}: must be in [0, 1] (the share of volunteers that relay)";
        if (!(v.RelayUploadShare is > 0 and <= 1)) yield return $"volunteers.relayUploadShare = {v.RelayUploadShare}: must be in (0, 1] (the share of a relay's uplink it lends)";
        if (!(v.Stragglers.Slowdown >= 1)) yield return $"volunteers.stragglers.slowdown = {v.Stragglers.Slowdown}: must be >= 1 (a factor of slowness)";
    }

    private static IEnumerable<string> Round(RoundSection r)
    {
        if (r.Rounds < 1) yield return $"round.rounds = {r.Rounds}: must be >= 1";
        if (!(r.Quorum > 0 && r.Quorum <= 1)) yield return $"round.quorum = {r.Quorum}: must be a fraction in (0, 1], such as 0.9";
        if (!(r.DeadlineMinutes > 0)) yield return $"round.deadlineMinutes = {r.DeadlineMinutes}: must be > 0";
    }

    private static IEnumerable<string> Coverage(Scenario s)
    {
        int needed = MinimumVolunteers(s.Model, s.Training);
        var counts = new List<(string Path, int Count)> { ("volunteers.count", s.Volunteers.Count) };
        counts.AddRange((s.Sweep?.Volunteers ?? []).Select((c, i) => ($"sweep.volunteers[{i}]", c)));
        foreach (var (path, count) in counts.Where(c => c.Count < needed))
        {
            yield return $"{path} = {count}: {s.Model.Experts} experts × replication {s.Training.Replication} / {s.Training.ExpertsPerShard} experts per shard needs at least {needed} volunteers; add volunteers or lower training.replication";
        }
    }

    /// <summary>Fewest volunteers that let every expert be held by <c>replication</c> of them.</summary>
    public static int MinimumVolunteers(ModelSection m, TrainingSection t) =>
        (int)Math.Ceiling((double)m.Experts * t.Replication / t.ExpertsPerShard);

    private static IEnumerable<string> Sweep(SweepSection s)
    {
        for (int i = 0; i < s.BandwidthMbps.Count; i++)
        {
            if (!(s.BandwidthMbps[i] > 0)) yield return $"sweep.bandwidthMbps[{i}] = {s.BandwidthMbps[i]}: must be > 0";
        }

        for (int i = 0; i < s.InnerSteps.Count; i++)
        {
            if (s.InnerSteps[i] < 1) yield return $"sweep.innerSteps[{i}] = {s.InnerSteps[i]}: must be >= 1";
        }
    }

    private static IEnumerable<string> ClusterMatch(ClusterMatchSection m, DeviceTable table)
    {
        if (m.Devices.Count == 0) yield return "clusterMatch.devices: empty; list volunteer devices such as [\"rtx3090\"]";
        if (m.LinkMbps.Count == 0 || m.LinkMbps.Any(l => !(l > 0))) yield return "clusterMatch.linkMbps: list link speeds > 0 such as [100, 1000]";
        if (m.Clusters.Count == 0) yield return "clusterMatch.clusters: empty; list clusters such as {\"name\": \"64×A100\", \"device\": \"a100\", \"count\": 64}";
        if (m.MaxVolunteers < 1) yield return $"clusterMatch.maxVolunteers = {m.MaxVolunteers}: must be >= 1";
        for (int i = 0; i < m.Clusters.Count; i++)
        {
            var c = m.Clusters[i];
            if (!table.Contains(c.Device)) yield return $"clusterMatch.clusters[{i}].device = '{c.Device}' is not in the device table (known: {table.KnownNames})";
            if (c.Count < 1) yield return $"clusterMatch.clusters[{i}].count = {c.Count}: must be >= 1";
            if (c.Utilization is { } u && !(u > 0 && u <= 1)) yield return $"clusterMatch.clusters[{i}].utilization = {u}: must be in (0, 1]";
        }
    }
}
