using Hivemind.Data;

namespace Hivemind.Simulations.Faithful;

/// <summary>
/// The data side of the byte model (issue 13): a unit on real text costs its volunteer the token slice it names, once, since
/// volunteers cache slices by SHA-256 (DataSliceFetcher); a synthetic unit costs nothing, its corpus is regenerated locally.
/// </summary>
public sealed class DataFetchModel
{
    private readonly HashSet<(int Slot, int Generation, string Sha256)> _cached = [];

    /// <summary>Data bytes fetched by all volunteers so far.</summary>
    public long Bytes { get; private set; }

    /// <summary>Bytes <paramref name="volunteer"/> downloads before it can train on <paramref name="data"/> (0 when cached or synthetic).</summary>
    public long BytesFor(VirtualVolunteer volunteer, DataSpec data)
    {
        ArgumentNullException.ThrowIfNull(volunteer);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Kind != DataKind.TokenSlice) return 0;
        // A new occupant of a slot is a new machine with an empty cache.
        if (!_cached.Add((volunteer.Slot, volunteer.Generation, data.FileSha256!))) return 0;
        Bytes += data.ByteLength;
        return data.ByteLength;
    }
}
