using System.Security.Cryptography;
using Hivemind.Coordinator.Rounds;

namespace Hivemind.Adversarial.Tests.Infrastructure;

/// <summary>What an attack must not change: the ledger, the round and the model (by content hash), and the files under updates/.</summary>
public sealed record Snapshot(long Ledger, long Round, string ModelSha256, int PayloadFiles)
{
    public static Snapshot Of(CoordinatorEngine engine)
    {
        var model = engine.GlobalParameters();
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in model)
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t.Values.AsSpan()));
        string updates = Path.Combine(engine.Options.DataDirectory, "updates");
        int files = Directory.Exists(updates) ? Directory.EnumerateFiles(updates, "*", SearchOption.AllDirectories).Count() : 0;
        string incoming = Path.Combine(engine.Options.DataDirectory, "incoming");
        files += Directory.Exists(incoming) ? Directory.EnumerateFiles(incoming).Count() : 0;
        return new Snapshot(engine.Store.LedgerCount(), engine.Round, Convert.ToHexString(sha.GetHashAndReset()), files);
    }
}
