using System.Net;
using System.Security;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Hivemind.PortMapping.Upnp;

/// <summary>Sends one UPnP SOAP action (UPnP DA 1.1 §3.2) and returns the response's arguments, or throws with the gateway's UPnPError.</summary>
internal sealed class SoapClient(HttpClient http, TimeSpan timeout, TimeProvider time)
{
    public async Task<Dictionary<string, string>> InvokeAsync(GatewayDescription gateway, string action, IReadOnlyList<(string Name, string Value)> arguments, CancellationToken ct)
    {
        var body = new StringBuilder();
        body.Append("<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>");
        body.Append($"<u:{action} xmlns:u=\"{SecurityElement.Escape(gateway.ServiceType)}\">");
        foreach (var (name, value) in arguments) body.Append($"<{name}>{SecurityElement.Escape(value)}</{name}>");
        body.Append($"</u:{action}></s:Body></s:Envelope>");

        using var request = new HttpRequestMessage(HttpMethod.Post, gateway.ControlUrl)
        {
            Content = new StringContent(body.ToString(), Encoding.UTF8, "text/xml"),
        };
        request.Headers.TryAddWithoutValidation("SOAPAction", $"\"{gateway.ServiceType}#{action}\"");
        using var timeoutCts = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeoutCts.Token);
        string text;
        HttpStatusCode status;
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            status = response.StatusCode;
            text = await HttpBody.ReadAsync(response.Content, $"The UPnP gateway's answer to {action} ({gateway.ControlUrl})", linked.Token);
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new PortMappingException($"The UPnP gateway at {gateway.ControlUrl} did not answer {action} within {timeout.TotalSeconds:0.##} s. Restart the router, or forward the port by hand.");
        }
        catch (HttpRequestException e)
        {
            throw new PortMappingException($"Could not reach the UPnP gateway at {gateway.ControlUrl} for {action}: {e.Message}. Forward the port by hand.", e);
        }

        XDocument doc;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
            using var reader = XmlReader.Create(new StringReader(text), settings);
            doc = XDocument.Load(reader);
        }
        catch (XmlException e)
        {
            throw new PortMappingException($"The UPnP gateway at {gateway.ControlUrl} answered {action} with HTTP {(int)status} and a body that is not XML ({e.Message}).", e);
        }

        if (status != HttpStatusCode.OK)
        {
            var code = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "errorCode")?.Value.Trim();
            var description = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "errorDescription")?.Value.Trim();
            throw new PortMappingException(UpnpErrors.Explain(action, gateway.ControlUrl, (int)status, code, description))
            {
                GatewayErrorCode = int.TryParse(code, out var c) ? c : null,
            };
        }
        var result = doc.Descendants().FirstOrDefault(e => e.Name.LocalName == action + "Response")
            ?? throw new PortMappingException($"The UPnP gateway at {gateway.ControlUrl} answered {action} without a {action}Response element.");
        return result.Elements().GroupBy(e => e.Name.LocalName).ToDictionary(g => g.Key, g => g.First().Value.Trim());
    }
}
