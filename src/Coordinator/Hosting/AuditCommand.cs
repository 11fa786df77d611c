using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Hivemind.Coordinator.Ledger;
using Hivemind.Protocol;
using Hivemind.Protocol.Ledger;
using Hivemind.Protocol.V1;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.Hosting;

/// <summary>
/// <c>audit</c>: checks a coordinator's public ledger (live over gRPC, or an export file) between two signed tree heads and prints
/// every volunteer's credit recomputed from the log alone; <c>export-ledger</c> writes a stopped coordinator's ledger to a file.
/// </summary>
public static class AuditCommand
{
    /// <summary>Exit code when the ledger fails the audit (a usage error is 2, as everywhere).</summary>
    public const int AuditFailedExitCode = 1;

    /// <summary>Deadline of each call to the coordinator.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(60);

    public static Command Create(CliConsole console)
    {
        var coordinator = new Option<string>("--coordinator") { Description = "Address of a running coordinator, e.g. http://127.0.0.1:5000 (or --ledger)" };
        var ledger = new Option<string>("--ledger") { Description = "A ledger export file (from export-ledger) instead of a live coordinator" };
        var oldHead = new Option<string>("--old-head") { Description = "An earlier signed tree head you kept (JSON, e.g. from --save-head); the empty tree without it" };
        var newHead = new Option<string>("--new-head") { Description = "The later signed tree head; the coordinator's current head (or the export's) without it" };
        var key = new Option<string>("--coordinator-key") { Description = "The coordinator's Ed25519 public key (64 hex digits) you trust; without it the key the log names is trusted, and printed" };
        var saveHead = new Option<string>("--save-head") { Description = "Write the new head here after a clean audit, to give as --old-head next time" };
        var audit = new Command("audit", "Check a coordinator's public ledger between two signed tree heads and recompute every volunteer's credit from it.")
        {
            coordinator, ledger, oldHead, newHead, key, saveHead,
        };
        audit.SetAction(async (parse, ct) =>
        {
            string? address = parse.GetValue(coordinator), file = parse.GetValue(ledger);
            if ((address is null) == (file is null))
                throw new UsageException("give exactly one of --coordinator <address> (a live coordinator) and --ledger <file> (an export-ledger file).");
            byte[]? pinned = parse.GetValue(key) is { } hex
                ? TreeHead.ParseKey(hex) ?? throw new UsageException($"--coordinator-key '{hex}' is not an Ed25519 public key; give its 64 hex digits (the coordinator logs them at start).")
                : null;
            var old = parse.GetValue(oldHead) is { } o ? ReadHead(o, "--old-head") : null;
            var given = parse.GetValue(newHead) is { } n ? ReadHead(n, "--new-head") : null;
            var report = address is not null
                ? await AuditLiveAsync(address, old, given, pinned, console, ct)
                : AuditExport(file!, old, given, pinned, console);
            Print(report, console);
            if (report.Ok && parse.GetValue(saveHead) is { } save) LedgerFiles.WriteHead(save, report.Head);
            return report.Report.Ok ? 0 : AuditFailedExitCode;
        });
        return audit;
    }

    /// <summary><c>export-ledger</c>: the ledger of a stopped coordinator's data directory, under a head freshly signed with its key.</summary>
    public static Command CreateExport(CliConsole console)
    {
        var dataDir = Flags.Text("--data-directory", "The coordinator's data directory (stop the coordinator first, or copy the directory)", "./hivemind-data");
        var output = new Option<string>("--output") { Description = "Export file to write", Required = true };
        var export = new Command("export-ledger", "Write a coordinator's ledger (every entry and a signed tree head) to a file that `audit --ledger` reads.") { dataDir, output };
        export.SetAction(parse =>
        {
            TreeHead head;
            try
            {
                head = LedgerFiles.ExportDataDirectory(parse.GetValue(dataDir)!, parse.GetValue(output)!, TimeProvider.System);
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or UnauthorizedAccessException)
            {
                throw new UsageException(e.Message, e);
            }
            console.Out.WriteLine($"wrote {head.TreeSize} entries and the head {head} to {parse.GetValue(output)}");
            return 0;
        });
        return export;
    }

    private sealed record Outcome(LedgerAuditReport Report, TreeHead Head)
    {
        public bool Ok => Report.Ok;
    }

    private static async Task<Outcome> AuditLiveAsync(string address, TreeHead? old, TreeHead? given, byte[]? pinned, CliConsole console, CancellationToken ct)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
            throw new UsageException($"--coordinator '{address}' is not an http:// or https:// address (e.g. http://127.0.0.1:5000).");
        using var channel = GrpcChannel.ForAddress(uri);
        var client = new Protocol.V1.Ledger.LedgerClient(channel);
        try
        {
            var head = given ?? (await client.GetTreeHeadAsync(new TreeHeadRequest { ProtocolVersion = ProtocolVersion.Current }, deadline: Deadline(), cancellationToken: ct)).FromWire();
            var entries = new List<byte[]>();
            while (entries.Count < head.TreeSize)
            {
                var page = await client.GetEntriesAsync(new EntriesRequest { ProtocolVersion = ProtocolVersion.Current, Start = (ulong)entries.Count, End = (ulong)head.TreeSize },
                    deadline: Deadline(), cancellationToken: ct);
                if (page.Entries.Count == 0) break; // fewer entries than the head claims: the audit reports it
                entries.AddRange(page.Entries.Select(e => e.ToByteArray()));
            }
            IReadOnlyList<byte[]>? proof = null;
            if (old is not null && old.TreeSize <= head.TreeSize)
            {
                var reply = await client.GetConsistencyProofAsync(new ConsistencyProofRequest { ProtocolVersion = ProtocolVersion.Current, OldSize = (ulong)old.TreeSize, NewSize = (ulong)head.TreeSize },
                    deadline: Deadline(), cancellationToken: ct);
                proof = reply.Proof.Select(p => p.ToByteArray()).ToList();
            }
            return new Outcome(LedgerAudit.Run(entries, old, head, TrustedKey(pinned, head, console), proof), head);
        }
        catch (RpcException e)
        {
            throw new UsageException($"the coordinator at {address} did not answer the ledger calls ({e.StatusCode}: {e.Status.Detail}); check the address and that it runs this version.", e);
        }
    }

    private static Outcome AuditExport(string file, TreeHead? old, TreeHead? given, byte[]? pinned, CliConsole console)
    {
        (TreeHead Head, IReadOnlyList<byte[]> Entries) export;
        try
        {
            export = LedgerFiles.ReadExport(file);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            throw new UsageException($"--ledger: {e.Message}", e);
        }
        var head = given ?? export.Head;
        return new Outcome(LedgerAudit.Run(export.Entries, old, head, TrustedKey(pinned, head, console)), head);
    }

    private static byte[] TrustedKey(byte[]? pinned, TreeHead head, CliConsole console)
    {
        if (pinned is not null) return pinned;
        console.Out.WriteLine($"trusting the coordinator key the log names, {Convert.ToHexString(head.PublicKey).ToLowerInvariant()}; pin it with --coordinator-key next time");
        return head.PublicKey;
    }

    private static void Print(Outcome outcome, CliConsole console)
    {
        var r = outcome.Report;
        var w = console.Out;
        w.WriteLine($"ledger: {r.NewSize} entries ({string.Join(", ", r.EntriesByKind.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Value} {p.Key}"))}), checked from size {r.OldSize} to {r.NewSize}");
        w.WriteLine($"{"volunteer",-14} {"accepted",8} {"credited tokens",16} {"pending",10} {"voided",10} {"checks ok",9} {"failed",6} {"rejected",8} {"banned",6}");
        foreach (var c in r.Credits)
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{c.VolunteerId[..Math.Min(12, c.VolunteerId.Length)],-14} {c.Accepted,8} {c.CreditedTokens,16} {c.PendingTokens,10} {c.VoidedTokens,10} {c.ChecksPassed,9} {c.ChecksFailed,6} {c.Rejections,8} {(c.Banned ? "yes" : "no"),6}"));
        }
        if (r.Ok)
        {
            w.WriteLine($"AUDIT OK: every entry hash reproduces the signed head {outcome.Head}{(r.OldSize > 0 ? $", which extends the old head of size {r.OldSize}" : "")}");
            return;
        }
        console.Error.WriteLine($"AUDIT FAILED: {r.Problems.Count} problem(s)");
        foreach (var p in r.Problems) console.Error.WriteLine($"  - {p}");
    }

    private static TreeHead ReadHead(string path, string flag)
    {
        try
        {
            return LedgerFiles.ReadHead(path);
        }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            throw new UsageException($"{flag}: {e.Message}", e);
        }
    }

    private static DateTime Deadline() => DateTime.UtcNow + CallTimeout;
}
