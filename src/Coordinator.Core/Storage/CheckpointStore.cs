using System.Runtime.InteropServices;
using System.Text;
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

    private string StatePath(long version) => Path.Combine(_directory, $"v{version:D6}.state.bin");

    /// <summary>First bytes of a state file; a different value means another format or a foreign file.</summary>
    private const int StateMagic = 0x484D5331; // "HMS1"

    /// <summary>
    /// Writes the state and the parameters (in parallel: two independent fsyncs), each atomically. A version counts
    /// as saved once the store's round row points at it, which happens after this returns.
    /// </summary>
    /// <param name="parallelism">How many of the two writes may run at once (<see cref="CoordinatorOptions.CloseParallelism"/>); null: both.</param>
    public string Save(long version, ParameterSet parameters, OuterOptimizer outer, IReadOnlyDictionary<string, float[]?> aggregatorState,
        ParallelOptions? parallelism = null)
    {
        string path = ParametersPath(version);
        Parallel.Invoke(
            parallelism ?? new ParallelOptions(),
            () => WriteState(StatePath(version), outer, aggregatorState),
            () => SafeTensors.Write(path, parameters, new Dictionary<string, string> { ["hivemind.version"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture) }));
        DurableFiles.SyncDirectory(_directory);
        return path;
    }

    // Raw little-endian blocks streamed to the file, not JSON: centered clipping keeps a model-sized vector per group.
    private static void WriteState(string path, OuterOptimizer outer, IReadOnlyDictionary<string, float[]?> aggregatorState)
    {
        string temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            using (var w = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
            {
                w.Write(StateMagic);
                long lengthAt = file.Position;
                w.Write(0); // outer state length, patched below
                w.Flush();
                long start = file.Position;
                outer.WriteState(file);
                long end = file.Position;
                file.Position = lengthAt;
                w.Write(checked((int)(end - start)));
                w.Flush();
                file.Position = end;
                var groups = aggregatorState.Where(p => p.Value is { Length: > 0 }).OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
                w.Write(groups.Count);
                foreach (var (key, values) in groups)
                {
                    w.Write(key);
                    w.Write(values!.Length);
                    w.Write(MemoryMarshal.AsBytes(values.AsSpan()));
                }
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    public (ParameterSet Parameters, byte[] OuterState, IReadOnlyDictionary<string, float[]?> AggregatorState) Load(long version)
    {
        string path = ParametersPath(version);
        if (!File.Exists(path))
            throw new InvalidDataException($"checkpoint {path} for version {version} is missing; the store says round {version} is current. " +
                                           "Restore the checkpoints folder or start a new data directory.");
        var parameters = SafeTensors.Read(path);
        string statePath = StatePath(version);
        try
        {
            using var r = new BinaryReader(File.OpenRead(statePath), Encoding.UTF8);
            if (r.ReadInt32() != StateMagic) throw new InvalidDataException("it does not start with the state magic");
            byte[] outer = r.ReadBytes(r.ReadInt32());
            int groups = r.ReadInt32();
            var aggregators = new Dictionary<string, float[]?>(StringComparer.Ordinal);
            for (int i = 0; i < groups; i++)
            {
                string key = r.ReadString();
                var values = new float[r.ReadInt32()];
                if (r.Read(MemoryMarshal.AsBytes(values.AsSpan())) != values.Length * sizeof(float)) throw new EndOfStreamException();
                aggregators[key] = values;
            }
            return (parameters, outer, aggregators);
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or OverflowException or OutOfMemoryException)
        {
            throw new InvalidDataException($"checkpoint state {statePath} is corrupt ({e.Message}); restore it from a backup or start a new data directory.", e);
        }
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
}
