namespace Hivemind.Aggregation.Cli;

/// <summary>A .npy file is unreadable or not the float32 vector/stack the command needs; the message names the file.</summary>
public sealed class NpyFormatException(string path, string problem) : Exception($"{path}: {problem}");
