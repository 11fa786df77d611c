namespace Hivemind.Protocol.Ledger;

/// <summary>One named, typed value of a ledger entry; <see cref="Value"/> is a long, double, string or byte[] as <see cref="Type"/> says.</summary>
public sealed record LedgerField(string Name, LedgerValueType Type, object Value)
{
    public static LedgerField Of(string name, long value) => new(name, LedgerValueType.Integer, value);

    public static LedgerField Of(string name, double value) => new(name, LedgerValueType.Float, value);

    public static LedgerField Of(string name, string value) => new(name, LedgerValueType.Text, value);

    public static LedgerField Of(string name, byte[] value) => new(name, LedgerValueType.Bytes, value);

    public override string ToString() => Type switch
    {
        LedgerValueType.Bytes => $"{Name}={Convert.ToHexString((byte[])Value).ToLowerInvariant()}",
        LedgerValueType.Float => $"{Name}={((double)Value).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}",
        _ => $"{Name}={Value}",
    };
}
