using Hivemind.Codec.Benchmarks;

// dotnet run -c Release --project benchmarks/Hivemind.Codec.Benchmarks -- throughput|quality [options]
if (args.Length == 0 || args[0] is not ("throughput" or "quality" or "frontier" or "traffic"))
{
    Console.WriteLine("""
        usage: Hivemind.Codec.Benchmarks throughput [--values 16777216] [--reps 7] [--kept 5] [--parameters a.safetensors,b.safetensors]
               Hivemind.Codec.Benchmarks quality [--seeds 3] [--rounds 12] [--volunteers 4] [--inner-steps 30] [--settings all|name;spec;...]
                                                 [--first-seed 1] [--out docs/benchmarks/codecs-frontier.png] [--csv path] [--data FOLDER]
                                                 [--baseline true|false]
               Hivemind.Codec.Benchmarks frontier --csv a.csv[,b.csv...] [--out docs/benchmarks/codecs-frontier.png]
               Hivemind.Codec.Benchmarks traffic [--settings int8/int8] [--seed 1] [--rounds 4] [--volunteers 2] [--inner-steps 1350]
                                                 [--seed-downloads true|false] [--newcomer-at R]
          throughput  one core: encode and decode of dense fp32 with every codec against memcpy of the same bytes, same run (GB/s of fp32);
                      the lossless full-download codec (fp32-shuffle-zstd) also on each --parameters checkpoint (e.g. a run's checkpoints/).
          quality     in-process DiLoCo on the 'tiny' preset (the real engine, volunteers and codecs): held-out loss after the same tokens
                      and bytes per trained token up and down for each setting, paired against fp32-up/full-down with the same seed,
                      against per-step data-parallel fp32 (2 × parameters × 4 bytes per step per worker); writes the frontier plot.
                      A setting is a name of the built-in list or a spec up/down, e.g. topk4:0.25/topk4:0.25 (up: fp32, fp16, int8, topk4:d,
                      topk2:d; down: full, int8, fp16, topk4:d, topk2:d; optional /outer-lr/outer-momentum); --csv appends one row per run.
                      --data FOLDER trains on real text (train and held-out token files from `hivemind-corpus tokenize`) instead of the
                      synthetic corpus; its rows carry the folder's name and pair only with the baseline on the same corpus.
                      --baseline false skips fp32 DiLoCo (its rows for the same seed, H, rounds and corpus come from another --csv).
          traffic     one run over real gRPC on 127.0.0.1 (real coordinator, real volunteer clients behind a byte-counting TCP relay): bytes
                      moved up and down per trained token, first downloads included, from the coordinator's payload counters and on the
                      wire, against per-step data-parallel fp32. --newcomer-at R replaces the last volunteer by a newcomer after R units.
          frontier    merges quality CSVs (e.g. one per H): each setting paired with fp32 DiLoCo of the same H, rounds, corpus and seed; prints
                      the paired table (markdown, as docs quote it) and the best setting within 3% per corpus; one plot per corpus
                      (--out itself for one corpus, else --out with -synthetic / -<corpus folder> before the extension).
        """);
    return args.Length == 0 ? 2 : 0;
}
var options = Args.Parse(args[1..]);
Console.WriteLine($"machine: {Environment.ProcessorCount} cores; {Args.Load()}");
return args[0] switch
{
    "throughput" => ThroughputCommand.Run(options),
    "quality" => QualityCommand.Run(options),
    "traffic" => TrafficCommand.Run(options),
    _ => FrontierCommand.Run(options),
};
