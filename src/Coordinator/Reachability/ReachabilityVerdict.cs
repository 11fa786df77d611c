using System.Net;

namespace Hivemind.Coordinator.Reachability;

/// <summary>The outcome of one dial-back: whether it connected, and what a person should do about it.</summary>
public sealed record ReachabilityVerdict(bool Reachable, IPEndPoint Dialed, string Advice, TimeSpan Elapsed, bool PrivateNetwork);
