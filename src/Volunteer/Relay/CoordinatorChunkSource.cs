using Hivemind.Protocol;
using Hivemind.Protocol.Relays;
using Hivemind.Protocol.V1;

namespace Hivemind.Volunteer.Relay;

/// <summary>The coordinator as the chunk source of last resort (RelayRegistry/DownloadChunk), for chunks no relay delivered.</summary>
public sealed class CoordinatorChunkSource(RelayRegistry.RelayRegistryClient coordinator, string session, string workUnitId) : IChunkSource
{
    public string Name => "coordinator";

    public async Task<byte[]> FetchAsync(ulong version, int index, CancellationToken ct)
    {
        var reply = await coordinator.DownloadChunkAsync(new CoordinatorChunkRequest
        {
            ProtocolVersion = ProtocolVersion.Current, SessionToken = session, ModelVersion = version, WorkUnitId = workUnitId, Index = (uint)index,
        }, cancellationToken: ct);
        return reply.Data.ToByteArray();
    }
}
