namespace Hivemind.Aggregation.Tests;

/// <summary>
/// A convex problem for the robustness experiment: logistic regression on synthetic data, each
/// honest worker holding its own shard and sending a mini-batch gradient every step.
/// </summary>
internal sealed class LogisticRegressionProblem
{
    public const int Features = 10;
    private const int SamplesPerWorker = 200;
    private const int TestSamples = 4000;
    private readonly float[][][] _x;
    private readonly float[][] _y;
    private readonly float[][] _testX;
    private readonly float[] _testY;

    public LogisticRegressionProblem(int workers, int seed)
    {
        var random = new Random(seed);
        float[] truth = Enumerable.Range(0, Features + 1).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();
        _x = new float[workers][][];
        _y = new float[workers][];
        for (int w = 0; w < workers; w++)
        {
            (_x[w], _y[w]) = Sample(truth, SamplesPerWorker, random);
        }

        (_testX, _testY) = Sample(truth, TestSamples, random);
    }

    public int Workers => _x.Length;

    /// <summary>Mini-batch gradient of the mean logistic loss for one worker; the bias is the last weight.</summary>
    public float[] Gradient(int worker, float[] w, int batch, Random random)
    {
        var gradient = new float[Features + 1];
        for (int b = 0; b < batch; b++)
        {
            int i = random.Next(SamplesPerWorker);
            float[] x = _x[worker][i];
            float error = Sigmoid(Score(w, x)) - _y[worker][i];
            for (int k = 0; k < Features; k++)
            {
                gradient[k] += error * x[k] / batch;
            }

            gradient[Features] += error / batch;
        }

        return gradient;
    }

    public (double Loss, double Accuracy) Evaluate(float[] w)
    {
        double loss = 0;
        int correct = 0;
        for (int i = 0; i < _testX.Length; i++)
        {
            double p = Math.Clamp(Sigmoid(Score(w, _testX[i])), 1e-7, 1 - 1e-7);
            loss -= _testY[i] == 1 ? Math.Log(p) : Math.Log(1 - p);
            correct += (p >= 0.5) == (_testY[i] == 1) ? 1 : 0;
        }

        return (loss / _testX.Length, (double)correct / _testX.Length);
    }

    private static (float[][] X, float[] Y) Sample(float[] truth, int count, Random random)
    {
        var x = new float[count][];
        var y = new float[count];
        for (int i = 0; i < count; i++)
        {
            x[i] = Enumerable.Range(0, Features).Select(_ => (float)NextGaussian(random)).ToArray();
            y[i] = random.NextDouble() < Sigmoid(Score(truth, x[i])) ? 1 : 0;
        }

        return (x, y);
    }

    private static float Score(float[] w, float[] x)
    {
        float score = w[Features];
        for (int k = 0; k < Features; k++)
        {
            score += w[k] * x[k];
        }

        return score;
    }

    private static float Sigmoid(float z) => 1f / (1f + MathF.Exp(-z));

    private static double NextGaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
