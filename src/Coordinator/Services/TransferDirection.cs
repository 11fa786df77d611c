namespace Hivemind.Coordinator.Services;

/// <summary>Which way a transfer goes, seen from the coordinator: updates come up, parameters go down.</summary>
public enum TransferDirection
{
    Upload,
    Download,
}
