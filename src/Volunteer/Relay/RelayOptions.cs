using System.Net;

namespace Hivemind.Volunteer.Relay;

/// <summary>How a volunteer serves the versions it downloaded (<c>--relay</c>).</summary>
/// <param name="Port">TCP port the relay listens on; 0 picks a free one (tests).</param>
/// <param name="Bind">Address to listen on: 0.0.0.0 (or ::) to be reachable from outside, 127.0.0.1 for tests.</param>
/// <param name="PublicPort">The port others reach it on (the router's external port); 0 means <paramref name="Port"/>.</param>
/// <param name="UploadBytesPerSecond">Upload cap over all streams; 0 means no cap.</param>
public sealed record RelayOptions(int Port, IPAddress Bind, int PublicPort = 0, long UploadBytesPerSecond = 0)
{
    /// <summary>Requests served at once, so a crowd cannot pile up on one home uplink: a whole-payload stream beyond it is refused (RESOURCE_EXHAUSTED), a chunk request waits up to <see cref="WaitForDownload"/> for a slot.</summary>
    public int MaxStreams { get; init; } = 8;

    /// <summary>
    /// How long a request waits for parameters the relay is still downloading itself (the coordinator lists a relay as soon as it
    /// leases the unit, so the first downloaders usually ask before the relay has the bytes).
    /// </summary>
    public TimeSpan WaitForDownload { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Versions kept in memory to serve; the oldest goes first.</summary>
    public int MaxHeld { get; init; } = 2;

    /// <summary>Distinct contents requests may wait for at once (beyond: NOT_FOUND at once), bounding what strangers can make the relay track.</summary>
    public int MaxPending { get; init; } = 8;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad value and the fix.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentException($"--relay-port {Port} is not a TCP port; give 1..65535 (e.g. 7000).");
        if (PublicPort is < 0 or > 65535) throw new ArgumentException($"--relay-public-port {PublicPort} is not a TCP port; give 1..65535, or leave it out to use --relay-port.");
        if (UploadBytesPerSecond < 0) throw new ArgumentException($"--relay-upload {UploadBytesPerSecond} B/s is negative; give a rate such as 2MiB, or 0 for no cap.");
        if (MaxStreams < 1) throw new ArgumentException($"relay MaxStreams {MaxStreams} must be at least 1.");
        if (WaitForDownload <= TimeSpan.Zero) throw new ArgumentException($"relay WaitForDownload {WaitForDownload} must be positive.");
        if (MaxHeld < 1) throw new ArgumentException($"relay MaxHeld {MaxHeld} must be at least 1.");
        if (MaxPending < 1) throw new ArgumentException($"relay MaxPending {MaxPending} must be at least 1.");
    }
}
