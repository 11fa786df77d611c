namespace Hivemind.Aggregation;

/// <summary>An aggregator that reports how its last run went when that is worth a caller's attention (an iteration that did not converge).</summary>
public interface IAggregationDiagnostics
{
    /// <summary>Warnings from the last <see cref="IAggregator.Aggregate"/> call; empty when it went as intended.</summary>
    IReadOnlyList<string> LastWarnings { get; }
}
