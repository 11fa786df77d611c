using Hivemind.Simulations.Network;

namespace Hivemind.Simulations.Calibration;

/// <summary>One case of check-timing: a name, the inner steps per unit, and the volunteers' link (null: plain loopback, unthrottled).</summary>
/// <param name="Name">"compute-bound" or "transfer-bound", as the table prints it.</param>
/// <param name="InnerSteps">H per unit.</param>
/// <param name="Link">Each volunteer's throttled link; null for the unthrottled loopback.</param>
public sealed record TimingCase(string Name, int InnerSteps, ThrottledLink? Link);
