namespace Hivemind.Simulations.Scale;

/// <summary>Outcome of one search: the fewest volunteers found whose pool trains as many tokens/s as the cluster, if any within the cap.</summary>
public sealed record ClusterMatch(
    string Device,
    double LinkMbps,
    string Cluster,
    double ClusterTokensPerSecond,
    int? VolunteersNeeded,
    ScaleResult Best,
    int BestVolunteers,
    int Trials);
