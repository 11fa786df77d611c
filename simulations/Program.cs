using Hivemind.Simulations.Cli;

return SimulatorCli.Create().Parse(args).Invoke();
