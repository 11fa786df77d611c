using Hivemind.Protocol.Tensors;

namespace Hivemind.Training;

/// <summary>What a work unit produces: the pseudo-gradient θ_start − θ_end of every shard tensor, the mean cross-entropy and the tokens seen.</summary>
public sealed record LocalTrainingResult(ParameterSet PseudoGradient, double MeanLoss, long Tokens);
