namespace Hivemind.Data;

/// <summary>One domain of the synthetic corpus: a sparse Markov chain of fixed order over a small byte alphabet.</summary>
/// <remarks>
/// Transition probabilities are integers over <see cref="ProbabilityScale"/> (2^16), and sampling uses
/// 16 random bits per byte, so the probabilities the generator draws from are exactly the ones the
/// entropy is computed from. A state is the last <see cref="Order"/> letters; the generator starts
/// each stream from the stationary distribution, so every window of a stream is stationary.
/// </remarks>
public sealed class MarkovChain
{
    /// <summary>Denominator of every transition probability.</summary>
    public const int ProbabilityScale = 1 << 16;

    // Power iteration stops when one step moves the distribution by less than this (L1); the
    // error left is then about this over the spectral gap, far below anything a loss can resolve.
    private const double StationaryTolerance = 1e-14;
    private const int MaxPowerIterations = 1_000_000;

    private readonly byte[] _alphabet;
    private readonly int[] _letterOfByte;   // byte -> alphabet index, or -1
    private readonly int[] _counts;         // [state * K + j]
    private readonly int[] _thresholds;     // cumulative counts, [state * K + j]
    private readonly int[] _successor;      // alphabet index, [state * K + j]
    private readonly byte[] _outByte;       // byte emitted, [state * K + j]
    private readonly int[] _nextState;      // state after emitting, [state * K + j]
    private readonly double[] _stationary;
    private readonly double[] _stationaryCdf;

    /// <summary>Builds a chain from explicit transitions.</summary>
    /// <param name="alphabet">Distinct bytes the chain emits.</param>
    /// <param name="order">How many previous letters form the state (1 to 4).</param>
    /// <param name="successors">For each state (base-|alphabet| number of its letters, oldest first) K alphabet indices.</param>
    /// <param name="counts">Matching probabilities times 2^16; each state's K counts sum to 2^16; zero means absent.</param>
    public MarkovChain(ReadOnlySpan<byte> alphabet, int order, ReadOnlySpan<int> successors, ReadOnlySpan<int> counts)
        : this(alphabet.ToArray(), order, successors.ToArray(), counts.ToArray(), validate: true)
    {
    }

    private MarkovChain(byte[] alphabet, int order, int[] successors, int[] counts, bool validate)
    {
        _alphabet = alphabet;
        Order = order;
        StateCount = CheckedStateCount(alphabet.Length, order);
        if (validate)
        {
            Validate(alphabet, StateCount, successors, counts);
        }
        Successors = successors.Length / StateCount;
        _successor = successors;
        _counts = counts;
        _letterOfByte = new int[256];
        Array.Fill(_letterOfByte, -1);
        for (int i = 0; i < alphabet.Length; i++)
        {
            _letterOfByte[alphabet[i]] = i;
        }

        int k = Successors;
        int keep = StateCount / alphabet.Length;
        _thresholds = new int[counts.Length];
        _outByte = new byte[counts.Length];
        _nextState = new int[counts.Length];
        for (int s = 0; s < StateCount; s++)
        {
            int sum = 0;
            for (int j = 0; j < k; j++)
            {
                int e = s * k + j;
                sum += counts[e];
                _thresholds[e] = sum;
                _outByte[e] = alphabet[successors[e]];
                _nextState[e] = s % keep * alphabet.Length + successors[e];
            }
        }

        _stationary = StationaryDistribution.Compute(StateCount, k, _counts, _nextState, StationaryTolerance, MaxPowerIterations);
        _stationaryCdf = new double[StateCount];
        double acc = 0;
        for (int s = 0; s < StateCount; s++)
        {
            acc += _stationary[s];
            _stationaryCdf[s] = acc;
        }
        EntropyRate = ComputeEntropyRate();
    }

    /// <summary>Number of previous letters that form the state.</summary>
    public int Order { get; }

    /// <summary>Transition slots per state (some may have probability zero in hand-built chains).</summary>
    public int Successors { get; }

    /// <summary>|alphabet|^order.</summary>
    public int StateCount { get; }

    /// <summary>The bytes this chain emits.</summary>
    public ReadOnlySpan<byte> Alphabet => _alphabet;

    /// <summary>Entropy rate in nats per byte: sum over states of stationary probability times next-letter entropy.</summary>
    public double EntropyRate { get; }

    /// <summary>Stationary probability of each state.</summary>
    public ReadOnlySpan<double> Stationary => _stationary;

    /// <summary>Entropy in nats of <paramref name="length"/> consecutive bytes of the stationary stream.</summary>
    public double BlockEntropy(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length <= Order)
        {
            // m consecutive letters of a stationary stream are distributed as the last m letters of the state.
            int size = 1;
            for (int i = 0; i < length; i++)
            {
                size *= _alphabet.Length;
            }
            var marginal = new double[size];
            for (int s = 0; s < StateCount; s++)
            {
                marginal[s % size] += _stationary[s];
            }
            return Entropy(marginal);
        }
        return BlockEntropy(Order) + (length - Order) * EntropyRate;
    }

    /// <summary>
    /// Best achievable mean loss (nats) over the first <paramref name="seqLen"/> bytes of a stream whose
    /// past is hidden: H(X1..Xn)/n. Knowing the domain but not the state, the first Order predictions
    /// pay more than the entropy rate.
    /// </summary>
    public double OptimalLoss(int seqLen)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(seqLen, 1);
        return BlockEntropy(seqLen) / seqLen;
    }

    /// <summary>Probability of <paramref name="next"/> after the last <see cref="Order"/> bytes of <paramref name="context"/>; 0 if impossible.</summary>
    public double Probability(ReadOnlySpan<byte> context, byte next)
    {
        if (context.Length < Order)
        {
            throw new ArgumentException($"The context has {context.Length} bytes but this chain has order {Order}; pass at least {Order} previous bytes.", nameof(context));
        }
        int s = 0;
        foreach (byte b in context[^Order..])
        {
            int letter = _letterOfByte[b];
            if (letter < 0)
            {
                return 0;
            }
            s = s * _alphabet.Length + letter;
        }
        int c = _letterOfByte[next];
        for (int j = 0; j < Successors; j++)
        {
            int e = s * Successors + j;
            if (_successor[e] == c && _counts[e] > 0)
            {
                return _counts[e] / (double)ProbabilityScale;
            }
        }
        return 0;
    }

    /// <summary>Fills <paramref name="output"/> with a stationary stream; the same seed gives the same bytes.</summary>
    public void Generate(ulong seed, Span<byte> output)
    {
        var rng = new Xoshiro256(seed);
        int s = SampleStationaryState(ref rng);
        int k = Successors;
        int[] thresholds = _thresholds;
        int[] next = _nextState;
        byte[] outByte = _outByte;
        ulong bits = 0;
        int left = 0;
        for (int i = 0; i < output.Length; i++)
        {
            if (left == 0)
            {
                // One 64-bit draw serves four bytes: 16 bits each, matching ProbabilityScale.
                bits = rng.NextUInt64();
                left = 4;
            }
            int u = (int)(bits & 0xFFFF);
            bits >>= 16;
            left--;
            int b = s * k;
            int j = 0;
            for (int t = 0; t < k - 1; t++)
            {
                j += u >= thresholds[b + t] ? 1 : 0;
            }
            output[i] = outByte[b + j];
            s = next[b + j];
        }
    }

    /// <summary>Tries to build a chain; returns null with a reason when it has no unique closed class.</summary>
    internal static MarkovChain? TryCreate(byte[] alphabet, int order, int[] successors, int[] counts, out string? error)
    {
        try
        {
            error = null;
            return new MarkovChain(alphabet, order, successors, counts, validate: false);
        }
        catch (ArgumentException e)
        {
            // Rare (a random chain with two closed classes) and once per domain, so the cost is irrelevant.
            error = e.Message;
            return null;
        }
    }

    private int SampleStationaryState(ref Xoshiro256 rng)
    {
        double u = rng.NextDouble() * _stationaryCdf[^1];
        int index = Array.BinarySearch(_stationaryCdf, u);
        index = index < 0 ? ~index : index + 1;
        index = Math.Min(index, StateCount - 1);
        // Rounding can land on a zero-probability (transient) state; step to the next recurrent one.
        while (_stationary[index] == 0)
        {
            index = (index + 1) % StateCount;
        }
        return index;
    }

    private double ComputeEntropyRate()
    {
        double h = 0;
        for (int s = 0; s < StateCount; s++)
        {
            if (_stationary[s] == 0)
            {
                continue;
            }
            double hs = 0;
            for (int j = 0; j < Successors; j++)
            {
                int c = _counts[s * Successors + j];
                if (c > 0)
                {
                    double p = c / (double)ProbabilityScale;
                    hs -= p * Math.Log(p);
                }
            }
            h += _stationary[s] * hs;
        }
        return h;
    }

    private static double Entropy(ReadOnlySpan<double> p)
    {
        double h = 0;
        foreach (double x in p)
        {
            if (x > 0)
            {
                h -= x * Math.Log(x);
            }
        }
        return h;
    }

    private static int CheckedStateCount(int alphabetSize, int order)
    {
        if (alphabetSize < 1 || alphabetSize > 256)
        {
            throw new ArgumentException($"The alphabet has {alphabetSize} letters; use 1 to 256 distinct bytes.");
        }
        if (order < 1 || order > SyntheticCorpusConfig.MaxOrder)
        {
            throw new ArgumentException($"Order {order} is out of range; use 1 to {SyntheticCorpusConfig.MaxOrder}.");
        }
        long states = 1;
        for (int i = 0; i < order; i++)
        {
            states *= alphabetSize;
        }
        if (states > SyntheticCorpusConfig.MaxStates)
        {
            throw new ArgumentException($"Alphabet {alphabetSize} with order {order} gives {states} states, above {SyntheticCorpusConfig.MaxStates}; use a smaller alphabet or order.");
        }
        return (int)states;
    }

    private static void Validate(byte[] alphabet, int states, int[] successors, int[] counts)
    {
        if (alphabet.Distinct().Count() != alphabet.Length)
        {
            throw new ArgumentException("The alphabet repeats a byte; every letter must be distinct.", nameof(alphabet));
        }
        if (successors.Length != counts.Length || successors.Length == 0 || successors.Length % states != 0)
        {
            throw new ArgumentException($"Expected successors and counts of equal length, a positive multiple of the {states} states; got {successors.Length} and {counts.Length}.");
        }
        int k = successors.Length / states;
        for (int s = 0; s < states; s++)
        {
            long sum = 0;
            for (int j = 0; j < k; j++)
            {
                int e = s * k + j;
                if (successors[e] < 0 || successors[e] >= alphabet.Length)
                {
                    throw new ArgumentException($"State {s} slot {j}: successor {successors[e]} is not an alphabet index (0 to {alphabet.Length - 1}).", nameof(successors));
                }
                if (counts[e] < 0)
                {
                    throw new ArgumentException($"State {s} slot {j}: count {counts[e]} is negative.", nameof(counts));
                }
                for (int i = 0; i < j; i++)
                {
                    if (counts[e] > 0 && counts[s * k + i] > 0 && successors[s * k + i] == successors[e])
                    {
                        throw new ArgumentException($"State {s} lists successor {successors[e]} twice; merge the two counts.", nameof(successors));
                    }
                }
                sum += counts[e];
            }
            if (sum != ProbabilityScale)
            {
                throw new ArgumentException($"State {s}: counts sum to {sum}, not {ProbabilityScale} (probabilities are counts over 2^16).", nameof(counts));
            }
        }
    }
}
