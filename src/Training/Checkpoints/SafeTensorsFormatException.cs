namespace Hivemind.Training;

/// <summary>A safetensors file that cannot be read: the message names the file and what is wrong with it.</summary>
public sealed class SafeTensorsFormatException(string path, string problem)
    : Exception($"checkpoint '{path}' is not a valid float32 safetensors file: {problem}. Restore it from a good copy or delete it to start from the previous checkpoint.")
{
    public string Path { get; } = path;

    public string Problem { get; } = problem;
}
