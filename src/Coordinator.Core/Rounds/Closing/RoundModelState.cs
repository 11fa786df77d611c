using Hivemind.Protocol.Tensors;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds.Closing;

/// <summary>
/// Everything a round close changes: the parameters, the outer optimizer and each group's aggregator state. A close reads one and
/// returns a new one; the engine swaps it in only after the checkpoint and ledger commit succeeded.
/// </summary>
public sealed record RoundModelState(ParameterSet Global, OuterOptimizer Outer, IReadOnlyDictionary<string, float[]> AggregatorStates);
