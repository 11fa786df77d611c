using Grpc.Core;

namespace Hivemind.Protocol.Errors;

/// <summary>How one <see cref="RejectReason"/> travels: its gRPC status, its trailer token, and what the client should do.</summary>
public sealed record RejectReasonInfo(RejectReason Reason, StatusCode Status, string Token, string Fix);
