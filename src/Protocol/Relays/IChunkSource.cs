namespace Hivemind.Protocol.Relays;

/// <summary>Somewhere a chunk of a model version can be fetched from: a relay, or the coordinator itself.</summary>
public interface IChunkSource
{
    /// <summary>For reports: a relay's volunteer id or address, or "coordinator".</summary>
    string Name { get; }

    /// <summary>The bytes of chunk <paramref name="index"/> of <paramref name="version"/>; whatever it returns is checked against the manifest.</summary>
    Task<byte[]> FetchAsync(ulong version, int index, CancellationToken ct);
}
