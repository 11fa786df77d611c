using Hivemind.Coordinator.Dashboard.Views;

namespace Hivemind.Coordinator.Dashboard;

/// <summary>
/// An immutable picture of the run that every API call is served from, so that no request reads the store or
/// touches the engine. Rounds are in round order; volunteers in leaderboard order (credit, then accepted updates).
/// </summary>
public sealed class DashboardSnapshot
{
    public DashboardSnapshot(StatusView status, RoundView[] rounds, VolunteerView[] volunteers, SortedDictionary<long, Dictionary<string, long>> rejectionsByRound)
    {
        Status = status;
        Rounds = rounds;
        Volunteers = volunteers;
        RejectionsByRound = rejectionsByRound;
    }

    public static DashboardSnapshot Empty { get; } = new(
        new StatusView("", 0, 0, null, null, null, 0, 0, 0, 0, 0, 0, 0, new Dictionary<string, long>(), 0, 0, 0, 0, 0, default, default),
        [], [], []);

    public StatusView Status { get; }

    public IReadOnlyList<RoundView> Rounds { get; }

    public IReadOnlyList<VolunteerView> Volunteers { get; }

    public IReadOnlyDictionary<long, Dictionary<string, long>> RejectionsByRound { get; }

    /// <summary>
    /// <c>GET /api/series</c> for every round, serialized once per change of the rounds by the publisher's thread, so the
    /// page's first load of a long run does not serialize 10,000 rounds on the request path.
    /// </summary>
    public byte[]? FullSeriesJson { get; internal set; }

    /// <summary>Index in <see cref="Rounds"/> of round <paramref name="round"/>, or of the first later one.</summary>
    public int IndexOfRound(long round)
    {
        int lo = 0, hi = Rounds.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (Rounds[mid].Round < round) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
