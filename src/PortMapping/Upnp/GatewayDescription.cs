using System.Xml;
using System.Xml.Linq;

namespace Hivemind.PortMapping.Upnp;

/// <summary>The WAN connection service a UPnP gateway's device description names: where to send SOAP calls, and which service type to name in them.</summary>
public sealed record GatewayDescription(Uri ControlUrl, string ServiceType)
{
    private const string WanIpPrefix = "urn:schemas-upnp-org:service:WANIPConnection:";
    private const string WanPppPrefix = "urn:schemas-upnp-org:service:WANPPPConnection:";

    /// <summary>
    /// Parses a device description (UPnP DA 1.1 §2.3). Prefers WANIPConnection over WANPPPConnection (a PPP service
    /// that is listed but unused is common on DSL routers). DTDs are refused: the XML comes from a LAN device.
    /// </summary>
    public static GatewayDescription Parse(string xml, Uri location)
    {
        XDocument doc;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var reader = XmlReader.Create(new StringReader(xml), settings);
            doc = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            throw new PortMappingException($"The UPnP gateway at {location} sent a device description that is not valid XML ({e.Message}). Restart the router, or forward the port by hand.", e);
        }
        var services = doc.Descendants().Where(e => e.Name.LocalName == "service")
            .Select(s => (Type: Child(s, "serviceType"), Control: Child(s, "controlURL")))
            .Where(s => s.Type is not null && s.Control is not null)
            .ToList();
        var chosen = services.FirstOrDefault(s => s.Type!.StartsWith(WanIpPrefix, StringComparison.Ordinal));
        if (chosen.Type is null) chosen = services.FirstOrDefault(s => s.Type!.StartsWith(WanPppPrefix, StringComparison.Ordinal));
        if (chosen.Type is null)
            throw new PortMappingException(
                $"The UPnP device at {location} is not an Internet gateway: its description lists no WANIPConnection or WANPPPConnection service " +
                $"({services.Count} other service(s)). Enable UPnP on the router itself, or forward the port by hand.");

        var root = doc.Root is null ? null : Child(doc.Root, "URLBase");
        var baseUri = root is not null && Uri.TryCreate(root, UriKind.Absolute, out var b) ? b : location;
        if (!Uri.TryCreate(baseUri, chosen.Control, out var control) || control.Scheme != Uri.UriSchemeHttp)
            throw new PortMappingException($"The UPnP gateway at {location} names control URL '{chosen.Control}', which is not an http URL. Forward the port by hand.");
        // The control URL must stay on the host we discovered; a description must not redirect our SOAP calls elsewhere.
        if (!string.Equals(control.Host, location.Host, StringComparison.OrdinalIgnoreCase))
            throw new PortMappingException($"The UPnP gateway at {location} names control URL {control} on another host; refusing to send it port mapping requests. Forward the port by hand.");
        return new GatewayDescription(control, chosen.Type!);
    }

    private static string? Child(XElement parent, string localName) =>
        parent.Elements().FirstOrDefault(e => e.Name.LocalName == localName)?.Value.Trim();
}
