using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;

namespace Hivemind.PortMapping.Tests.Fakes;

/// <summary>An in-process UPnP IGD on 127.0.0.1: an SSDP responder (UDP) plus device description and WANIPConnection SOAP control (HTTP), with a real mapping table.</summary>
public sealed class FakeUpnpGateway : IAsyncDisposable
{
    public const string ServiceType = "urn:schemas-upnp-org:service:WANIPConnection:1";
    public const string DescriptionPath = "/rootDesc.xml";
    public const string ControlPath = "/ctl/IPConn";

    private readonly UdpClient _ssdp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _ssdpLoop;
    private readonly FakeHttpServer _http;

    public FakeUpnpGateway()
    {
        _http = new FakeHttpServer(Handle);
        SsdpReply = port => $"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nUSN: uuid:fake::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://127.0.0.1:{port}{DescriptionPath}\r\n\r\n";
        Description = ValidDescription(ServiceType, ControlPath);
        _ssdpLoop = AnswerSearchesAsync();
    }

    /// <summary>The SSDP answer for the HTTP port, or null to stay silent.</summary>
    public Func<int, string?> SsdpReply { get; set; }

    /// <summary>The device description served at <see cref="DescriptionPath"/>.</summary>
    public string Description { get; set; }

    /// <summary>Overrides the answer to a SOAP action; a null answer falls back to the mapping table.</summary>
    public Func<string, IReadOnlyDictionary<string, string>, FakeHttpResponse?>? Override { get; set; }

    public string ExternalAddress { get; set; } = "203.0.113.7";

    public IPEndPoint SsdpEndPoint => (IPEndPoint)_ssdp.Client.LocalEndPoint!;

    public int HttpPort => _http.Port;

    public ConcurrentDictionary<(string Protocol, int ExternalPort), (string Client, int InternalPort, int Lease, string Description)> Mappings { get; } = new();

    public ConcurrentQueue<(string Action, IReadOnlyDictionary<string, string> Arguments)> Actions { get; } = new();

    /// <summary>Raised for every SOAP action received, before it is answered.</summary>
    public event Action<string>? ActionReceived;

    /// <summary>Completes when <paramref name="action"/> arrives.</summary>
    public Task Received(string action)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        ActionReceived += a => { if (a == action) tcs.TrySetResult(); };
        return tcs.Task;
    }

    public int ActionCount(string action) => Actions.Count(a => a.Action == action);

    public static string ValidDescription(string serviceType, string controlUrl, string? urlBase = null) => $"""
        <?xml version="1.0"?>
        <root xmlns="urn:schemas-upnp-org:device-1-0">
          <specVersion><major>1</major><minor>0</minor></specVersion>
          {(urlBase is null ? "" : $"<URLBase>{urlBase}</URLBase>")}
          <device>
            <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
            <serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service></serviceList>
            <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
              <deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
                <serviceList><service><serviceType>{serviceType}</serviceType><controlURL>{controlUrl}</controlURL></service></serviceList>
              </device></deviceList>
            </device></deviceList>
          </device>
        </root>
        """;

    public static FakeHttpResponse SoapFault(int code, string description) => new(500, $"""
        <?xml version="1.0"?>
        <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>
        <detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>{code}</errorCode><errorDescription>{description}</errorDescription></UPnPError></detail>
        </s:Fault></s:Body></s:Envelope>
        """);

    public static FakeHttpResponse SoapOk(string action, params (string Name, string Value)[] values) => new(200, $"""
        <?xml version="1.0"?>
        <s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:{action}Response xmlns:u="{ServiceType}">{string.Concat(values.Select(v => $"<{v.Name}>{v.Value}</{v.Name}>"))}</u:{action}Response></s:Body></s:Envelope>
        """);

    private FakeHttpResponse? Handle(FakeHttpRequest request)
    {
        if (request.Method == "GET" && request.Path == DescriptionPath) return new FakeHttpResponse(200, Description);
        if (request.Method != "POST") return new FakeHttpResponse(404, "");
        var soapAction = request.Headers.TryGetValue("SOAPAction", out var a) ? a.Trim('"') : "";
        var action = soapAction[(soapAction.IndexOf('#') + 1)..];
        var call = XDocument.Parse(request.Body).Descendants().First(e => e.Name.LocalName == action);
        var args = call.Elements().ToDictionary(e => e.Name.LocalName, e => e.Value);
        Actions.Enqueue((action, args));
        ActionReceived?.Invoke(action);
        if (HungActionsContains(action)) return null;
        if (Override?.Invoke(action, args) is { } overridden) return overridden;
        return action switch
        {
            "GetExternalIPAddress" => SoapOk(action, ("NewExternalIPAddress", ExternalAddress)),
            "AddPortMapping" => Add(args),
            "DeletePortMapping" => Mappings.TryRemove((args["NewProtocol"], int.Parse(args["NewExternalPort"])), out _)
                ? SoapOk(action) : SoapFault(714, "NoSuchEntryInArray"),
            _ => SoapFault(401, "Invalid Action"),
        };
    }

    /// <summary>SOAP actions the gateway receives but never answers.</summary>
    public ConcurrentDictionary<string, bool> Hung { get; } = new();

    private bool HungActionsContains(string action) => Hung.ContainsKey(action);

    private FakeHttpResponse Add(Dictionary<string, string> args)
    {
        var key = (args["NewProtocol"], int.Parse(args["NewExternalPort"]));
        var entry = (args["NewInternalClient"], int.Parse(args["NewInternalPort"]), int.Parse(args["NewLeaseDuration"]), args["NewPortMappingDescription"]);
        if (Mappings.TryGetValue(key, out var existing) && existing.Item1 != entry.Item1) return SoapFault(718, "ConflictInMappingEntry");
        Mappings[key] = entry;
        return SoapOk("AddPortMapping");
    }

    private async Task AnswerSearchesAsync()
    {
        try
        {
            while (true)
            {
                var received = await _ssdp.ReceiveAsync(_stop.Token);
                var text = Encoding.ASCII.GetString(received.Buffer);
                if (!text.StartsWith("M-SEARCH", StringComparison.Ordinal)) continue;
                Interlocked.Increment(ref _searches);
                if (SsdpReply(_http.Port) is { } reply)
                    await _ssdp.SendAsync(Encoding.ASCII.GetBytes(reply), received.RemoteEndPoint, _stop.Token);
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
    }

    private int _searches;

    /// <summary>M-SEARCH datagrams received.</summary>
    public int Searches => Volatile.Read(ref _searches);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _ssdp.Dispose();
        await _ssdpLoop;
        await _http.DisposeAsync();
        _stop.Dispose();
    }
}
