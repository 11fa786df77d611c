namespace Hivemind.Data;

/// <summary>Stationary distribution of a sparse chain, and the check that it is unique.</summary>
internal static class StationaryDistribution
{
    /// <summary>
    /// Lazy power iteration (pi = (pi + pi P) / 2, which converges even for periodic chains and has the
    /// same fixed point), then a graph check that every state reaches the most probable state: that
    /// holds exactly when the chain has a single closed class, i.e. a unique stationary distribution.
    /// Transient states get probability exactly zero.
    /// </summary>
    /// <exception cref="ArgumentException">The chain has more than one closed class, or did not converge.</exception>
    public static double[] Compute(int states, int k, int[] counts, int[] next, double tolerance, int maxIterations)
    {
        var pi = new double[states];
        var step = new double[states];
        Array.Fill(pi, 1.0 / states);
        bool converged = false;
        for (int iteration = 0; iteration < maxIterations && !converged; iteration++)
        {
            Array.Clear(step);
            for (int s = 0; s < states; s++)
            {
                double mass = pi[s];
                if (mass == 0)
                {
                    continue;
                }
                for (int j = 0; j < k; j++)
                {
                    int e = s * k + j;
                    step[next[e]] += mass * counts[e] / MarkovChain.ProbabilityScale;
                }
            }
            double change = 0;
            for (int s = 0; s < states; s++)
            {
                double updated = 0.5 * (pi[s] + step[s]);
                change += Math.Abs(updated - pi[s]);
                pi[s] = updated;
            }
            converged = change < tolerance;
        }
        if (!converged)
        {
            throw new ArgumentException($"The stationary distribution did not converge in {maxIterations} iterations; the chain mixes too slowly. Use more successors per state.");
        }

        int anchor = Array.IndexOf(pi, pi.Max());
        bool[] reachesAnchor = Reverse(states, k, counts, next, anchor);
        int stranded = Array.IndexOf(reachesAnchor, false);
        if (stranded >= 0)
        {
            throw new ArgumentException($"State {stranded} cannot reach state {anchor}: the chain has more than one closed class, so its stationary distribution is not unique. Use another seed or more successors per state.");
        }
        bool[] recurrent = Forward(states, k, counts, next, anchor);
        double total = 0;
        for (int s = 0; s < states; s++)
        {
            pi[s] = recurrent[s] ? pi[s] : 0;
            total += pi[s];
        }
        for (int s = 0; s < states; s++)
        {
            pi[s] /= total;
        }
        return pi;
    }

    private static bool[] Forward(int states, int k, int[] counts, int[] next, int start)
    {
        var seen = new bool[states];
        var queue = new Queue<int>();
        seen[start] = true;
        queue.Enqueue(start);
        while (queue.TryDequeue(out int s))
        {
            for (int j = 0; j < k; j++)
            {
                int e = s * k + j;
                if (counts[e] > 0 && !seen[next[e]])
                {
                    seen[next[e]] = true;
                    queue.Enqueue(next[e]);
                }
            }
        }
        return seen;
    }

    private static bool[] Reverse(int states, int k, int[] counts, int[] next, int target)
    {
        // Reverse adjacency in CSR form: predecessors of each state.
        var start = new int[states + 1];
        for (int e = 0; e < counts.Length; e++)
        {
            if (counts[e] > 0)
            {
                start[next[e] + 1]++;
            }
        }
        for (int s = 0; s < states; s++)
        {
            start[s + 1] += start[s];
        }
        var fill = (int[])start.Clone();
        var predecessors = new int[start[states]];
        for (int e = 0; e < counts.Length; e++)
        {
            if (counts[e] > 0)
            {
                predecessors[fill[next[e]]++] = e / k;
            }
        }
        var seen = new bool[states];
        var queue = new Queue<int>();
        seen[target] = true;
        queue.Enqueue(target);
        while (queue.TryDequeue(out int s))
        {
            for (int i = start[s]; i < start[s + 1]; i++)
            {
                int p = predecessors[i];
                if (!seen[p])
                {
                    seen[p] = true;
                    queue.Enqueue(p);
                }
            }
        }
        return seen;
    }
}
