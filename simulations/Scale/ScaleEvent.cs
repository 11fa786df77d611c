namespace Hivemind.Simulations.Scale;

/// <summary>An event of a scale run; <paramref name="Generation"/> lets events of a departed volunteer be ignored.</summary>
public readonly record struct ScaleEvent(EventKind Kind, int Slot, int Round, int Generation);
