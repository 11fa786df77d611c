namespace Hivemind.Aggregation;
