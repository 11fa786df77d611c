using Hivemind.Codec.Benchmarks;

// dotnet run -c Release --project benchmarks/Hivemind.Codec.Benchmarks -- throughput|quality [options]
if (args.Length == 0 || args[0] is not ("throughput" or "quality"))
{
    Console.WriteLine("""
        usage: Hivemind.Codec.Benchmarks throughput [--values 16777216] [--reps 7] [--kept 5]
               Hivemind.Codec.Benchmarks quality [--seeds 3] [--rounds 12] [--volunteers 4] [--inner-steps 30] [--settings all|name;name]
                                                 [--out docs/benchmarks/codecs-frontier.png] [--csv path]
          throughput  one core: encode and decode of dense fp32 with every codec against memcpy of the same bytes, same run (GB/s of fp32).
          quality     in-process DiLoCo on the 'tiny' preset (the real engine, volunteers and codecs): held-out loss after the same tokens
                      and bytes per trained token up and down for each setting, paired against fp32-up/full-down with the same seed,
                      against per-step data-parallel fp32 (2 × parameters × 4 bytes per step per worker); writes the frontier plot.
        """);
    return args.Length == 0 ? 2 : 0;
}
var options = Args.Parse(args[1..]);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores; {Args.Load()}");
return args[0] == "throughput" ? ThroughputCommand.Run(options) : QualityCommand.Run(options);
