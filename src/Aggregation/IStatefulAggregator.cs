namespace Hivemind.Aggregation;

/// <summary>An aggregator that carries state from round to round (centered clipping's centre), for checkpoints.</summary>
public interface IStatefulAggregator
{
    /// <summary>The state as a flat vector; empty when there is none yet.</summary>
    float[] ExportState();

    /// <summary>Restores state saved by <see cref="ExportState"/>; an empty array clears it.</summary>
    void ImportState(float[] state);
}
