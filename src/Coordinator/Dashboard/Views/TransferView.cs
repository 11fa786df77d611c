namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>One upload (an update coming in) or download (a shard's parameters going out) in flight (<c>GET /api/transfers</c>).</summary>
public sealed record TransferView(string Direction, string VolunteerId, string WorkUnitId, long BytesDone, long TotalBytes, DateTimeOffset StartedAt);
