using Hivemind.Aggregation.Benchmarks;
using Hivemind.Aggregation.Kernels;

// dotnet run -c Release --project benchmarks/Hivemind.Aggregation.Benchmarks -- compare [--quick] [--no-naive] [--no-avx512] [--n 64 --d 1000000]
if (args.Length == 0 || args[0] != "compare")
{
    Console.Error.WriteLine("usage: compare [--quick] [--no-naive] [--no-avx512] [--n N --d D]   (default grid: n in {16, 64}, d in {1e6, 1e7}; --quick: d in {1e5, 1e6})");
    return 2;
}

string? Value(string name) => Array.IndexOf(args, name) is int i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;

CoordinateWise.UseVector512 &= !args.Contains("--no-avx512");
int[] counts = Value("--n") is { } n ? [int.Parse(n)] : [16, 64];
int[] lengths = Value("--d") is { } d ? [int.Parse(d)] : args.Contains("--quick") ? [100_000, 1_000_000] : [1_000_000, 10_000_000];
CompareCommand.Run(counts, lengths, naive: !args.Contains("--no-naive"));
return 0;
