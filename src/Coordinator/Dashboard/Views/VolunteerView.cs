namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>
/// One volunteer on the leaderboard. Credit is the tokens of its accepted work counted by the coordinator (units
/// accepted × the unit's token count), never the volunteer's own claim. Rejections are counted since this coordinator
/// process started. No session token or network address is ever part of it.
/// </summary>
public sealed record VolunteerView(
    int Rank,
    string Id,
    string Device,
    long MemoryBytes,
    DateTimeOffset JoinedAt,
    long Credit,
    long Accepted,
    long Rejected,
    IReadOnlyDictionary<string, long> RejectionsByReason,
    double Reputation,
    bool Active,
    bool Banned,
    string? BanReason,
    DateTimeOffset? BannedAt,
    DateTimeOffset? LastAcceptedAt);
