namespace Hivemind.Data;

/// <summary>Training or held-out data; the two never share a synthetic stream.</summary>
public enum DataSplit
{
    /// <summary>Data that work units train on.</summary>
    Train = 0,

    /// <summary>Data reserved for evaluation.</summary>
    HeldOut = 1,
}
