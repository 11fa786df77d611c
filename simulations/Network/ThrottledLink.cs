using System.Net.Sockets;

namespace Hivemind.Simulations.Network;

/// <summary>A volunteer's access link for check-timing's transfer-bound case: download and upload rates in Mb/s (asymmetric, as most home links are).</summary>
/// <param name="DownMbps">Coordinator → volunteer.</param>
/// <param name="UpMbps">Volunteer → coordinator.</param>
public sealed record ThrottledLink(double DownMbps, double UpMbps)
{
    private const double BitsPerByte = 8;
    private const double BitsPerMegabit = 1e6;

    /// <summary>Bytes per second of a rate in Mb/s.</summary>
    public static double BytesPerSecond(double mbps) => mbps * BitsPerMegabit / BitsPerByte;

    /// <summary>
    /// An HTTP handler whose every connection crosses one shared pair of link clocks (this volunteer's own link; each call makes a new
    /// link, so give every volunteer its own handler). Returns the clocks too, to read the bytes they carried.
    /// </summary>
    public (SocketsHttpHandler Handler, LinkClock Down, LinkClock Up) CreateHandler(TimeProvider? time = null)
    {
        if (!(DownMbps > 0) || !(UpMbps > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(DownMbps), $"link rates down {DownMbps} Mb/s and up {UpMbps} Mb/s must both be positive");
        }

        var down = new LinkClock(BytesPerSecond(DownMbps), time);
        var up = new LinkClock(BytesPerSecond(UpMbps), time);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, ct).ConfigureAwait(false);
                    return new ThrottledStream(new NetworkStream(socket, ownsSocket: true), up, down);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return (handler, down, up);
    }
}
