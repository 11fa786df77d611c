namespace Hivemind.Coordinator.Dashboard.Views;

/// <summary>The body of a 400 reply: what was wrong, with which value, and what to send instead.</summary>
public sealed record ApiError(string Error);
