namespace Hivemind.Simulations.Tests;
