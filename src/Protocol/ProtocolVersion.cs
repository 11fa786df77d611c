using Hivemind.Protocol.Errors;

namespace Hivemind.Protocol;

/// <summary>The wire protocol version this build speaks, and the check that tells an incompatible client so.</summary>
public static class ProtocolVersion
{
    /// <summary>Version sent in every request's <c>protocol_version</c> field.</summary>
    public const uint Current = 1;

    /// <summary>Oldest client version a coordinator of this build still serves.</summary>
    public const uint Minimum = 1;

    public static bool IsSupported(uint clientVersion) => clientVersion is >= Minimum and <= Current;

    /// <summary>Throws the <see cref="RejectReason.ProtocolMismatch"/> RpcException unless <paramref name="clientVersion"/> is served.</summary>
    public static void EnsureSupported(uint clientVersion)
    {
        if (!IsSupported(clientVersion)) throw RejectReasons.ToRpcException(RejectReason.ProtocolMismatch, MismatchDetail(clientVersion));
    }

    /// <summary>Throws the <see cref="RejectReason.ProtocolMismatch"/> <see cref="ProtocolException"/> unless <paramref name="clientVersion"/> is served.</summary>
    public static void Require(uint clientVersion)
    {
        if (!IsSupported(clientVersion)) throw new ProtocolException(RejectReason.ProtocolMismatch, MismatchDetail(clientVersion));
    }

    private static string MismatchDetail(uint clientVersion) => clientVersion == 0
        ? $"the request has no protocol_version (0); this coordinator speaks {Minimum}..{Current}"
        : $"client protocol version {clientVersion} is not served; this coordinator speaks {Minimum}..{Current}";
}
