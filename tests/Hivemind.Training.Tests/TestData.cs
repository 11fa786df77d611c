using Hivemind.Data;

namespace Hivemind.Training.Tests;

/// <summary>The synthetic corpus the tests train on: 4 domains, order-2 chains over 16 letters.</summary>
internal static class TestData
{
    public static readonly SyntheticCorpusConfig Corpus = new(Seed: 1);

    public static readonly double[] Mix = [0.25, 0.25, 0.25, 0.25];

    public static IBatchSource Train(long slice) => BatchSources.Open(DataSpec.Synthetic(Corpus, Mix, slice));

    public static IBatchSource HeldOut(long slice) => BatchSources.Open(DataSpec.HeldOut(Corpus, Mix, slice));

    public static double Optimum(int seqLen) => BatchSources.Corpus(Corpus).OptimalLoss(Mix, seqLen);
}
