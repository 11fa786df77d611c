using System.Numerics.Tensors;
using Hivemind.Aggregation.Kernels;

namespace Hivemind.Aggregation.Aggregators;

/// <summary>
/// Centered clipping (Karimireddy et al. 2021): v ← v + Σ wᵢ (xᵢ − v)·min(1, τ/‖xᵢ − v‖), repeated
/// iters times from a centre kept across rounds: the previous aggregate (beta=0) or a momentum
/// m ← beta·m + (1−beta)·aggregate. With no centre yet (first round, or after a length change)
/// it starts from the coordinate-wise median, so round one is robust too. One instance per tensor group.
/// <para>
/// Difference from ByzFL, on purpose: ByzFL's CenteredClipping starts from zero when it has no centre,
/// which in round one lets every attacker pull by τ from the origin rather than from a robust point.
/// Distances to the centre are accumulated in double, so huge rows are clipped, never turned into ∞.
/// </para>
/// </summary>
public sealed class CenteredClippingAggregator : IAggregator, IStatefulAggregator
{
    private readonly double _tau;
    private readonly int _iterations;
    private readonly double _beta;
    private float[] _centre = [];

    public CenteredClippingAggregator(double tau, int iterations = 1, double beta = 0)
    {
        Breakdown.RequirePositive("cclip", "tau", tau);
        Breakdown.RequireAtLeast("cclip", "iters", iterations, 1, "clipping steps per round");
        if (!(beta >= 0 && beta < 1))
        {
            throw new AggregationConfigException($"cclip: beta={beta} must be in [0, 1) (0 = centre is the previous aggregate).", "beta");
        }

        _tau = tau;
        _iterations = iterations;
        _beta = beta;
    }

    public string Name => _beta == 0 ? $"cclip(tau={_tau:R},iters={_iterations})" : $"cclip(tau={_tau:R},iters={_iterations},beta={_beta:R})";

    public void EnsureWithinBreakdown(int n) => Breakdown.RequireAtLeastOne(Name, n);

    public float[] Aggregate(IReadOnlyList<ReadOnlyMemory<float>> inputs, ReadOnlySpan<double> weights)
    {
        EnsureWithinBreakdown(inputs.Count);
        int n = inputs.Count;
        int d = inputs[0].Length;
        float[] w = Weights.Normalized(weights, n, Name);
        float[] v = _centre.Length == d ? (float[])_centre.Clone() : CoordinateWise.Median(inputs);
        var distances = new double[n];
        for (int iteration = 0; iteration < _iterations; iteration++)
        {
            float[] centre = v;
            Parallel.For(0, n, AggregationParallelism.Current, i => distances[i] = VectorMath.Distance(centre, inputs[i].Span));
            var alpha = new float[n];
            double kept = 1;
            for (int i = 0; i < n; i++)
            {
                alpha[i] = (float)(w[i] * Math.Min(1, _tau / Math.Max(distances[i], double.Epsilon)));
                kept -= alpha[i];
            }

            // v + Σ αᵢ(xᵢ − v) = (1 − Σ αᵢ)·v + Σ αᵢxᵢ
            float[] next = WeightedSum.Compute(inputs, alpha);
            TensorPrimitives.MultiplyAdd(v, (float)kept, next, next);
            v = next;
        }

        UpdateCentre(v);
        return v;
    }

    public float[] ExportState() => (float[])_centre.Clone();

    public void ImportState(float[] state)
    {
        ArgumentNullException.ThrowIfNull(state);
        _centre = (float[])state.Clone();
    }

    private void UpdateCentre(float[] aggregate)
    {
        if (_beta == 0 || _centre.Length != aggregate.Length)
        {
            _centre = (float[])aggregate.Clone();
            return;
        }

        TensorPrimitives.Multiply(_centre, (float)_beta, _centre);
        TensorPrimitives.MultiplyAdd(aggregate, (float)(1 - _beta), _centre, _centre);
    }
}
