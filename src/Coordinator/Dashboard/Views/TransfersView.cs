namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary><c>GET /api/transfers</c>: the transfers in flight now (read live, not from the snapshot: they change with every chunk).</summary>
public sealed record TransfersView(int Uploads, int Downloads, long BytesDone, long TotalBytes, IReadOnlyList<TransferView> Items, DateTimeOffset At);
