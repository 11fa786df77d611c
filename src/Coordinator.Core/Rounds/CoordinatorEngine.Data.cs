using Hivemind.Data;
using Hivemind.Protocol.Errors;

namespace Hivemind.Coordinator.Rounds;

/// <summary>Real text (issue 13): which corpus slices a volunteer may download, and which bytes of them.</summary>
public sealed partial class CoordinatorEngine
{
    private const int Sha256HexLength = 64;
    private const int EchoedNameLength = 80;

    private readonly TokenCorpus? _text;

    /// <summary>The real-text corpus whose slices units name (--data), or null for the synthetic corpus.</summary>
    public TokenCorpus? Text => _text;

    /// <summary>
    /// Checks a data download before a byte is read: a live session, a corpus being served, a well-formed slice name that is one of
    /// its slices, a live lease of the caller on a unit that trains on it, and a range inside it (<paramref name="length"/> 0 = to
    /// the end). Returns the slice and the range; anything else is a <see cref="ProtocolException"/> naming the value, and changes nothing.
    /// </summary>
    public (TokenSlice Slice, long Offset, long Length) AuthorizeDataDownload(string sessionToken, string sliceSha256, ulong offset, ulong length)
    {
        var volunteer = Authenticate(sessionToken);
        if (_text is null)
            throw Reject(RejectReason.MalformedRequest, "this coordinator serves no corpus (it trains on the synthetic one, started without --data); no unit of it names a data slice");
        if (sliceSha256.Length != Sha256HexLength || !sliceSha256.All(char.IsAsciiHexDigitLower))
            throw Reject(RejectReason.MalformedRequest, $"slice name '{Sanitize(sliceSha256, EchoedNameLength)}' is not a SHA-256 (64 lowercase hex digits); ask for the file_sha256 your work unit names");
        if (!_text.TryFind(sliceSha256, out var slice))
            throw Reject(RejectReason.MalformedRequest, $"no slice of the served corpus has SHA-256 {sliceSha256}; ask for the file_sha256 your work unit names");
        if (!LeasesSlice(volunteer.Id, sliceSha256))
            throw Reject(RejectReason.UnleasedWorkUnit, $"volunteer {volunteer.Id[..12]}… holds no live lease on a unit that trains on slice {sliceSha256[..12]}…; request work first");
        if (offset >= (ulong)slice.ByteLength)
            throw Reject(RejectReason.MalformedRequest, $"offset {offset} is at or past the end of slice {sliceSha256[..12]}… ({slice.ByteLength} bytes); resume from an offset below it");
        ulong available = (ulong)slice.ByteLength - offset;
        if (length > available)
            throw Reject(RejectReason.MalformedRequest, $"range [{offset}, {offset + length}) runs past the end of slice {sliceSha256[..12]}… ({slice.ByteLength} bytes); ask for at most {available} bytes (or 0 = to the end)");
        return (slice, (long)offset, length == 0 ? (long)available : (long)length);
    }

    // The unit a lease stands for is rebuilt from (round, unit index), so its slice is the one the volunteer was told.
    private bool LeasesSlice(string volunteerId, string sliceSha256)
    {
        long now = NowMs();
        lock (_gate)
        {
            return _leases.Values.Any(l => l.VolunteerId == volunteerId && l.State == "leased" && l.DeadlineMs >= now
                && _units.Data(WorkUnitFactory.SliceSeed(_options.Seed, l.Round, l.UnitIndex)).FileSha256 == sliceSha256);
        }
    }
}
