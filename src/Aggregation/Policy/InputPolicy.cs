using System.Runtime.Intrinsics;

namespace Hivemind.Aggregation.Policy;

/// <summary>
/// The stated input policy, applied before any rule runs:
/// an empty update is rejected; the expected length is the one most inputs share (ties: the
/// earliest input's) and other lengths are rejected; an update holding NaN or ±Inf is rejected
/// whole (a partial update is not an honest one); a weight that is negative, NaN or infinite
/// rejects its input. If nothing is left, <see cref="AggregationInputException"/> carries every
/// reason. Too few inputs for a rule's f is not filtered: the rule refuses with
/// <see cref="AggregationConfigException"/>, because aggregating anyway would void its guarantee.
/// </summary>
internal static class InputPolicy
{
    public static FilteredInputs Apply(IReadOnlyList<ReadOnlyMemory<float>> inputs, IReadOnlyList<double>? weights)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (weights is not null && weights.Count != inputs.Count)
        {
            throw new ArgumentException($"got {weights.Count} weights for {inputs.Count} inputs; pass one weight per input or none.", nameof(weights));
        }

        int expected = ExpectedLength(inputs);
        var reasons = new string?[inputs.Count];
        Parallel.For(0, inputs.Count, AggregationParallelism.Current, i => reasons[i] = Check(inputs[i], expected, weights?[i]));

        var accepted = new List<ReadOnlyMemory<float>>();
        var kept = new List<double>();
        var index = new List<int>();
        var rejected = new List<InputRejection>();
        for (int i = 0; i < inputs.Count; i++)
        {
            if (reasons[i] is { } reason)
            {
                rejected.Add(new InputRejection(i, reason));
                continue;
            }

            accepted.Add(inputs[i]);
            kept.Add(weights?[i] ?? 1);
            index.Add(i);
        }

        if (accepted.Count == 0)
        {
            string detail = rejected.Count == 0 ? "no inputs were given" : string.Join("; ", rejected.Select(r => $"input {r.Index}: {r.Reason}"));
            throw new AggregationInputException($"no usable input to aggregate ({detail}).", rejected);
        }

        if (kept.Sum() <= 0)
        {
            throw new AggregationInputException($"all {accepted.Count} usable inputs have weight 0; at least one weight must be positive.", rejected);
        }

        return new FilteredInputs(accepted, kept.ToArray(), index.ToArray(), rejected);
    }

    private static int ExpectedLength(IReadOnlyList<ReadOnlyMemory<float>> inputs)
    {
        var counts = new Dictionary<int, int>();
        int best = 0;
        int bestCount = 0;
        foreach (ReadOnlyMemory<float> input in inputs)
        {
            if (input.Length == 0)
            {
                continue;
            }

            int count = counts[input.Length] = counts.GetValueOrDefault(input.Length) + 1;
            if (count > bestCount)
            {
                best = input.Length;
                bestCount = count;
            }
        }

        return best;
    }

    private static string? Check(ReadOnlyMemory<float> input, int expected, double? weight)
    {
        if (input.Length == 0)
        {
            return "empty update (length 0)";
        }

        if (input.Length != expected)
        {
            return $"length {input.Length}, expected {expected} (the length most inputs share)";
        }

        if (weight is { } w && (!(w >= 0) || double.IsInfinity(w)))
        {
            return $"weight {w} is not a finite number >= 0";
        }

        int bad = FirstNonFinite(input.Span);
        return bad < 0 ? null : $"non-finite value {input.Span[bad]} at coordinate {bad}";
    }

    /// <summary>Index of the first NaN or ±Inf, or −1. x − x is 0 for finite x and NaN otherwise.</summary>
    internal static int FirstNonFinite(ReadOnlySpan<float> x)
    {
        int lanes = Vector256<float>.Count;
        int j = 0;
        for (; j + lanes <= x.Length; j += lanes)
        {
            Vector256<float> v = Vector256.Create(x.Slice(j, lanes));
            if (!Vector256.EqualsAll(v - v, Vector256<float>.Zero))
            {
                break;
            }
        }

        for (; j < x.Length; j++)
        {
            if (!float.IsFinite(x[j]))
            {
                return j;
            }
        }

        return -1;
    }
}
