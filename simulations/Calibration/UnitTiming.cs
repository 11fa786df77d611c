namespace Hivemind.Simulations.Calibration;

/// <summary>Wall seconds of one unit's phases at a real volunteer client, as its view reported them.</summary>
/// <param name="DownloadSeconds">The parameters' download (0 when cached).</param>
/// <param name="WorkSeconds">From the end of the download to the start of the upload: training, signing, encoding.</param>
/// <param name="UploadSeconds">The update's upload, until the coordinator's acknowledgement.</param>
public sealed record UnitTiming(double DownloadSeconds, double WorkSeconds, double UploadSeconds);
