namespace Hivemind.Aggregation;

/// <summary>One input left out of an aggregation: its index in the caller's list and a reason a log can show.</summary>
public sealed record InputRejection(int Index, string Reason);
