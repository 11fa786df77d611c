namespace Hivemind.Aggregation.Tests;
