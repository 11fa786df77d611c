using Grpc.Net.Client;
using Hivemind.Coordinator.Ledger;
using Hivemind.Coordinator.Tests.Cli;
using Hivemind.Coordinator.Tests.Infrastructure;
using Hivemind.Protocol;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.V1;

namespace Hivemind.Coordinator.Tests.Ledger;

/// <summary>The ledger of a real <c>serve</c> process killed with SIGKILL, audited live over gRPC after the restart.</summary>
public sealed class LedgerProcessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    private static string[] ServeArgs(string dataDirectory) =>
    [
        "serve", "--port", "0", "--data-directory", dataDirectory, "--preset", "tiny", "--seed", "7", "--quorum", "4",
        "--spare-leases", "0", "--inner-steps", "5", "--batch-size", "4", "--sequence-length", "32", "--eval-batches", "1",
        // Off (they are on by default): a check drawn for an acknowledged update appends its ledger entry whenever its
        // recomputation ends, which may fall between the tree head read before the kill and the kill itself.
        "--spot-check-probability", "0", "--spot-check-probation-probability", "0",
    ];

    private static async Task<TreeHead> HeadAsync(string address)
    {
        using var channel = GrpcChannel.ForAddress(address);
        var head = await new Protocol.V1.Ledger.LedgerClient(channel).GetTreeHeadAsync(new TreeHeadRequest { ProtocolVersion = ProtocolVersion.Current });
        return head.FromWire();
    }

    [Fact]
    public async Task The_ledger_survives_SIGKILL_and_a_live_audit_finds_it_consistent()
    {
        using var dir = new TempDirectory();
        string data = Path.Combine(dir.Path, "data");
        string headFile = Path.Combine(dir.Path, "head.json");
        await using var volunteers = new VolunteerPool(dir.Path);

        TreeHead before;
        using (var first = ChildProcess.Start(ServeArgs(data)))
        {
            string address = (await first.WaitForAsync(@"listening on (http://\S+);", Patience)).Groups[1].Value;
            Assert.Equal(2, await volunteers.RunAsync(address, count: 2, unitsEach: 1, Patience)); // two acknowledged updates
            before = await HeadAsync(address);
            first.KillHard();
        }
        LedgerFiles.WriteHead(headFile, before);
        Assert.True(before.TreeSize >= 6, $"two joins, two leases and two accepts make at least 6 entries, not {before.TreeSize}");

        using var second = ChildProcess.Start(ServeArgs(data));
        string again = (await second.WaitForAsync(@"listening on (http://\S+);", Patience)).Groups[1].Value;
        var after = await HeadAsync(again);
        Assert.Equal(before.TreeSize, after.TreeSize);
        Assert.Equal(before.RootHash, after.RootHash);

        var audit = await CliRun.RunAsync("audit", "--coordinator", again, "--old-head", headFile,
            "--coordinator-key", Convert.ToHexString(before.PublicKey));
        Assert.True(audit.ExitCode == 0, audit.Out + audit.Error);
        Assert.Contains("AUDIT OK", audit.Out);
        Assert.Contains("2 accept", audit.Out);
    }
}
