namespace Hivemind.Simulations.Scenarios;

/// <summary>A scenario that cannot be read or run; the message names the field, the value and the fix.</summary>
public sealed class ScenarioException(string message, Exception? inner = null) : Exception(message, inner);
