namespace Hivemind.Simulations.Scale;

/// <summary>One round's download time per volunteer slot, and the bytes the coordinator itself sends for the round's downloads.</summary>
internal sealed record RoundDownloads(Func<VolunteerSlot, double> Seconds, double CoordinatorBytes);
