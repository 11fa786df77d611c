using System.Text.Json;
using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Storage;

/// <summary>
/// One checkpoint per model version: the parameters as safetensors (PyTorch reads them), the outer
/// optimizer's state and the stateful aggregators' state. Every file is written atomically.
/// </summary>
public sealed class CheckpointStore
{
    private readonly string _directory;

    public CheckpointStore(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    public string ParametersPath(long version) => Path.Combine(_directory, $"v{version:D6}.safetensors");

    private string StatePath(long version) => Path.Combine(_directory, $"v{version:D6}.state.json");

    /// <summary>Writes the state first, then the parameters: a version counts as saved once its safetensors file exists.</summary>
    public string Save(long version, ParameterSet parameters, byte[] outerState, IReadOnlyDictionary<string, float[]?> aggregatorState)
    {
        var state = new CheckpointState(Convert.ToBase64String(outerState),
            aggregatorState.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value!));
        DurableFiles.WriteAtomic(StatePath(version), JsonSerializer.SerializeToUtf8Bytes(state));
        string path = ParametersPath(version);
        SafeTensors.Write(path, parameters, new Dictionary<string, string> { ["hivemind.version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        DurableFiles.SyncDirectory(_directory);
        return path;
    }

    public (ParameterSet Parameters, byte[] OuterState, IReadOnlyDictionary<string, float[]?> AggregatorState) Load(long version)
    {
        string path = ParametersPath(version);
        if (!File.Exists(path))
            throw new InvalidDataException($"checkpoint {path} for version {version} is missing; the store says round {version} is current. " +
                                           "Restore the checkpoints folder or start a new data directory.");
        var parameters = SafeTensors.Read(path);
        var state = JsonSerializer.Deserialize<CheckpointState>(File.ReadAllBytes(StatePath(version)))
                    ?? throw new InvalidDataException($"{StatePath(version)} is empty.");
        return (parameters, Convert.FromBase64String(state.Outer), state.Aggregators.ToDictionary(p => p.Key, p => (float[]?)p.Value));
    }

    /// <summary>Deletes checkpoints older than <paramref name="keepFrom"/> (version 0 is kept as the reference start).</summary>
    public void Prune(long keepFrom)
    {
        for (long v = keepFrom - 1; v >= 1; v--)
        {
            string path = ParametersPath(v);
            if (!File.Exists(path)) break;
            File.Delete(path);
            File.Delete(StatePath(v));
        }
    }

    private sealed record CheckpointState(string Outer, Dictionary<string, float[]> Aggregators);
}
