namespace Hivemind.Training;

/// <summary>How <see cref="ModelInit"/> fills a parameter.</summary>
public enum ParameterInit
{
    Normal,
    Ones,
    Zeros,
}
