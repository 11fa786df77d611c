namespace Hivemind.Training;

/// <summary>One parameter of the model: its stable name, shape and how it is initialised.</summary>
public sealed record ParameterInfo(string Name, long[] Shape, ParameterInit Init, double Std = 0);
