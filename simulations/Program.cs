Console.WriteLine("hivemind simulations: not built yet");
