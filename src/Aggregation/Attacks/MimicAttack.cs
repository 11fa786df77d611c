namespace Hivemind.Aggregation.Attacks;

/// <summary>
/// Mimic (Karimireddy, He &amp; Jaggi 2022, "Byzantine-robust learning on heterogeneous datasets via bucketing", §5 and their
/// <c>MimicVariantAttacker</c>): every attacker copies one honest worker's update, so that worker's data is over-weighted and the
/// rest of the heterogeneous population under-represented, while every Byzantine update is a perfectly honest-looking one.
/// <list type="bullet">
/// <item><c>mimic</c> (<see cref="Adaptive"/>): the paper's choice of worker. During a warm-up of <c>warmup</c> rounds the attackers
/// estimate the direction z of largest heterogeneity, the top eigenvector of the honest updates' covariance, by the paper's
/// online power iteration (z₀ from a seeded Gaussian; μ a running mean of the round means; each round
/// z ← t/(1+t)·z + 1/(1+t)·u/‖u‖ with u = Σᵢ ⟨gᵢ − μ, z⟩(gᵢ − μ), then normalised) and copy the worker with the largest
/// ⟨gᵢ, z⟩; after the warm-up they keep copying that same worker (by identity) every round.</item>
/// <item><c>mimic(target=k)</c>: copies the k-th honest update of each call (the paper's simpler <c>MimicAttacker</c> with a fixed
/// rank, when the caller keeps the order of workers fixed).</item>
/// </list>
/// </summary>
public sealed class MimicAttack : IAttack
{
    /// <summary>Warm-up rounds of <c>mimic</c> when none are given.</summary>
    public const int DefaultWarmup = 5;

    private readonly int? _target;
    private readonly int _warmup;
    private int _t;
    private double[]? _mu;
    private double[]? _z;
    private string? _fixedWorker;

    /// <summary>Copies honest update <paramref name="target"/> of every call.</summary>
    public MimicAttack(int target = 0)
        : this((int?)target, DefaultWarmup)
    {
    }

    // target null: the adaptive (paper's) choice of worker after warmup rounds.
    private MimicAttack(int? target, int warmup)
    {
        _target = target;
        _warmup = warmup;
    }

    /// <summary>Karimireddy et al.'s mimic: learns the heterogeneity direction for <paramref name="warmup"/> rounds, then fixes one worker.</summary>
    public static MimicAttack Adaptive(int warmup = DefaultWarmup) =>
        warmup >= 1 ? new MimicAttack(target: null, warmup) : throw new ArgumentOutOfRangeException(nameof(warmup), warmup, "mimic: warmup must be >= 1 round");

    /// <summary>Whether the worker is chosen by the paper's rule (state across rounds) rather than by a fixed index.</summary>
    public bool IsAdaptive => _target is null;

    public string Name => _target is { } k ? $"mimic(target={k})" : _warmup == DefaultWarmup ? "mimic" : $"mimic(warmup={_warmup})";

    /// <summary>The worker copied from now on, once the warm-up is over; null during it.</summary>
    public string? FixedWorker => _fixedWorker;

    /// <summary>Rounds observed so far by <see cref="SelectTarget"/>.</summary>
    public int RoundsSeen => _t;

    /// <summary>The current estimate of the heterogeneity direction (unit length), for tests; null before the first round.</summary>
    public IReadOnlyList<double>? Direction => _z;

    /// <summary>
    /// One round of the paper's rule: updates μ and z while warming up and returns the index (into <paramref name="honest"/>) of
    /// the worker to copy; after the warm-up, the index of the fixed worker, or, if it sent nothing this round, the worker with the
    /// largest ⟨gᵢ, z⟩. <paramref name="workers"/> names each honest update's sender; call once per round with whole updates.
    /// </summary>
    public int SelectTarget(IReadOnlyList<ReadOnlyMemory<float>> honest, IReadOnlyList<string> workers)
    {
        if (!IsAdaptive)
        {
            throw new InvalidOperationException($"{Name} copies a fixed index; SelectTarget is for the adaptive mimic.");
        }

        HonestStatistics.Length(honest, 0, Name);
        if (workers.Count != honest.Count)
        {
            throw new ArgumentException($"mimic: {honest.Count} honest updates but {workers.Count} worker names.");
        }

        if (_fixedWorker is not null)
        {
            int fixedAt = IndexOf(workers, _fixedWorker);
            if (fixedAt >= 0)
            {
                _t++;
                return fixedAt;
            }
        }

        int d = honest[0].Length;
        if (_z is not null && _z.Length != d)
        {
            throw new ArgumentException($"mimic: updates have length {d}, earlier rounds had {_z.Length}.");
        }

        if (_t < _warmup)
        {
            double[] mean = new double[d];
            foreach (var h in honest)
            {
                var s = h.Span;
                for (int j = 0; j < d; j++) mean[j] += s[j];
            }

            for (int j = 0; j < d; j++) mean[j] /= honest.Count;
            if (_t == 0)
            {
                _mu = mean;
                var rng = new Random(0);
                _z = new double[d];
                for (int j = 0; j < d; j++) _z[j] = Gaussian(rng);
                _z = Normalised(PowerStep(honest, _mu, _z));
            }
            else
            {
                double a = (double)_t / (1 + _t);
                double b = 1.0 / (1 + _t);
                for (int j = 0; j < d; j++) _mu![j] = a * _mu[j] + b * mean[j];
                double[] u = Normalised(PowerStep(honest, _mu!, _z!));
                for (int j = 0; j < d; j++) _z![j] = a * _z[j] + b * u[j];
                _z = Normalised(_z!);
            }
        }

        int best = ArgMaxProjection(honest, _z!);
        _t++;
        if (_t >= _warmup && _fixedWorker is null)
        {
            _fixedWorker = workers[best];
        }

        return best;
    }

    /// <summary>Copies of honest update <paramref name="index"/>, one per attacker.</summary>
    public static float[][] CopyOf(IReadOnlyList<ReadOnlyMemory<float>> honest, int index, int f) =>
        HonestStatistics.Repeat(honest[index].ToArray(), f);

    /// <summary>
    /// Fixed index: copies honest update <c>target</c>. Adaptive: one round of <see cref="SelectTarget"/> with each update's index
    /// as its worker name (a caller that knows the senders calls <see cref="SelectTarget"/> and <see cref="CopyOf"/> itself).
    /// </summary>
    public float[][] Craft(IReadOnlyList<ReadOnlyMemory<float>> honest, int f, Random rng)
    {
        HonestStatistics.Length(honest, f, Name);
        if (_target is not { } target)
        {
            return CopyOf(honest, SelectTarget(honest, [.. Enumerable.Range(0, honest.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))]), f);
        }

        if (target >= honest.Count)
        {
            throw new ArgumentException($"mimic: target={target} but there are {honest.Count} honest updates; use 0..{honest.Count - 1}.");
        }

        return CopyOf(honest, target, f);
    }

    private static int IndexOf(IReadOnlyList<string> workers, string worker)
    {
        for (int i = 0; i < workers.Count; i++)
        {
            if (string.Equals(workers[i], worker, StringComparison.Ordinal)) return i;
        }

        return -1;
    }

    private static double[] PowerStep(IReadOnlyList<ReadOnlyMemory<float>> honest, double[] mu, double[] z)
    {
        int d = mu.Length;
        var cumu = new double[d];
        foreach (var h in honest)
        {
            var s = h.Span;
            double w = 0;
            for (int j = 0; j < d; j++) w += (s[j] - mu[j]) * z[j];
            for (int j = 0; j < d; j++) cumu[j] += w * (s[j] - mu[j]);
        }

        return cumu;
    }

    private static int ArgMaxProjection(IReadOnlyList<ReadOnlyMemory<float>> honest, double[] z)
    {
        int best = 0;
        double bestValue = double.NegativeInfinity;
        for (int i = 0; i < honest.Count; i++)
        {
            var s = honest[i].Span;
            double p = 0;
            for (int j = 0; j < z.Length; j++) p += s[j] * z[j];
            if (p > bestValue)
            {
                bestValue = p;
                best = i;
            }
        }

        return best;
    }

    private static double[] Normalised(double[] v)
    {
        double norm = 0;
        foreach (double x in v) norm += x * x;
        norm = Math.Sqrt(norm);
        if (norm > 0 && double.IsFinite(norm))
        {
            for (int j = 0; j < v.Length; j++) v[j] /= norm;
        }

        return v;
    }

    private static double Gaussian(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble();
        double u2 = rng.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
