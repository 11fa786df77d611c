Console.WriteLine("hivemind volunteer: not built yet");
