using System.Text;

namespace Hivemind.PortMapping.Upnp;

/// <summary>Reads a gateway's HTTP body with a size cap, so a broken or hostile LAN device cannot make us buffer without end.</summary>
internal static class HttpBody
{
    /// <summary>Descriptions and SOAP answers are a few KiB; 64 KiB leaves room for verbose routers.</summary>
    public const int MaxBytes = 64 * 1024;

    public static async Task<string> ReadAsync(HttpContent content, string what, CancellationToken ct)
    {
        if (content.Headers.ContentLength > MaxBytes)
            throw new PortMappingException($"{what} is {content.Headers.ContentLength} bytes, over the {MaxBytes} accepted; refusing it.");
        await using var stream = await content.ReadAsStreamAsync(ct);
        var buffer = new byte[MaxBytes + 1];
        var total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer.AsMemory(total), ct)) > 0)
        {
            total += read;
            if (total > MaxBytes) throw new PortMappingException($"{what} is over {MaxBytes} bytes; refusing it.");
        }
        return Encoding.UTF8.GetString(buffer, 0, total);
    }
}
