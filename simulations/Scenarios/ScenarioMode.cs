namespace Hivemind.Simulations.Scenarios;

/// <summary>Which level of the simulator runs a scenario.</summary>
public enum ScenarioMode
{
    /// <summary>The timing model without tensors (thousands of volunteers, billions of parameters).</summary>
    Scale,

    /// <summary>The real round engine and training under virtual time.</summary>
    Faithful,
}
