using Hivemind.Protocol.Tensors;

namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>
/// One accepted update as the round close sees it. <paramref name="Weight"/> is the unit's token count, which the coordinator set;
/// <paramref name="TrunkNorm"/> is the verifier's measurement, used to withhold the reward from (next to) no-progress updates;
/// <paramref name="OnProbation"/> says the key was below the probation reputation when the round closed.
/// </summary>
public sealed record RoundInput(string VolunteerId, long Version, int UnitIndex, ParameterSet Payload, double Weight, double Loss, double TrunkNorm, bool OnProbation = false);
