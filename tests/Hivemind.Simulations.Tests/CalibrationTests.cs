using Hivemind.Simulations.Calibration;

namespace Hivemind.Simulations.Tests;

public sealed class CalibrationTests
{
    [Fact]
    public void Blocked_matmul_equals_the_textbook_triple_loop()
    {
        const int n = 64;
        var random = new Random(5);
        float[] a = Enumerable.Range(0, n * n).Select(_ => (float)random.Next(-4, 5)).ToArray();
        float[] b = Enumerable.Range(0, n * n).Select(_ => (float)random.Next(-4, 5)).ToArray();
        float[] c = new float[n * n];

        MatmulBenchmark.Multiply(a, b, c, n);

        // Small integers: every partial sum is exact in fp32, so the comparison can be exact.
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float expected = 0;
                for (int k = 0; k < n; k++)
                {
                    expected += a[i * n + k] * b[k * n + j];
                }

                Assert.Equal(expected, c[i * n + j]);
            }
        }
    }
}
