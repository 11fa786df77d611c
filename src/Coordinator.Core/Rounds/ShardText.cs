using Hivemind.Protocol.Envelopes;
using Hivemind.Training;

namespace Hivemind.Coordinator.Rounds;

/// <summary>The canonical text form of a shard ("0/1,0/3,1/0"), as stored with a lease, and conversions to the wire forms.</summary>
public static class ShardText
{
    public static string Format(ShardSpec shard) => string.Join(',', shard.Experts.Select(e => $"{e.Layer}/{e.Expert}"));

    public static ShardSpec Parse(string text) =>
        new(text.Length == 0 ? [] : text.Split(',').Select(p =>
        {
            var parts = p.Split('/');
            return new ExpertId(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
        }).ToList());

    public static ShardSpec FromEnvelope(UpdateEnvelope envelope) =>
        new(envelope.Experts.Select(e => new ExpertId(e.Layer, e.Expert)).ToList());
}
