namespace Hivemind.PortMapping.Upnp;

/// <summary>Turns a UPnP errorCode (WANIPConnection:1 §2.4) into a sentence that says what to do.</summary>
internal static class UpnpErrors
{
    /// <summary>The router only keeps permanent mappings (IGD:1 devices).</summary>
    public const int OnlyPermanentLeasesSupported = 725;
    public const int ConflictInMappingEntry = 718;
    public const int NoSuchEntryInArray = 714;
    public const int ActionNotAuthorized = 606;

    public static string Explain(string action, Uri control, int httpStatus, string? code, string? description)
    {
        var what = $"The UPnP gateway at {control} refused {action} (HTTP {httpStatus}, UPnP error {code ?? "none"}: {description ?? "no description"}).";
        var todo = int.TryParse(code, out var c)
            ? c switch
            {
                ConflictInMappingEntry => " The external port is already forwarded to another computer: pick another port, or remove that entry in the router's port-forwarding page.",
                ActionNotAuthorized => " The router allows UPnP but not port mapping changes: allow them in its UPnP settings, or forward the port by hand.",
                NoSuchEntryInArray => " The router has no such mapping (it may have expired already).",
                _ => " Forward the port by hand in the router's settings.",
            }
            : " Forward the port by hand in the router's settings.";
        return what + todo;
    }
}
