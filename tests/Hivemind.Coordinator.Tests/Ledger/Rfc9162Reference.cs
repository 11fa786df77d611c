using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Hivemind.Coordinator.Tests.Ledger;

/// <summary>Runs rfc9162_reference.py (python3 + hashlib, written from the RFC's definitions) on a set of claims about a log.</summary>
internal static class Rfc9162Reference
{
    public const string Python = "/usr/bin/python3";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    /// <summary>Each claim's verdict: heads (size, root), inclusion proofs (index, size, proof, optional entry), consistency proofs.</summary>
    public static (bool[] Heads, bool[] Inclusion, bool[] Consistency) Check(IEnumerable<byte[]> entries,
        IEnumerable<(long Size, byte[] Root)>? heads = null,
        IEnumerable<(long Index, long Size, IReadOnlyList<byte[]> Proof, byte[]? Entry)>? inclusion = null,
        IEnumerable<(long Old, long New, IReadOnlyList<byte[]> Proof)>? consistency = null)
    {
        var claim = new JsonObject
        {
            ["entries"] = Array(entries.Select(Hex)),
            ["heads"] = new JsonArray((heads ?? []).Select(h => (JsonNode)new JsonObject { ["size"] = h.Size, ["root"] = Hex(h.Root) }).ToArray()),
            ["inclusion"] = new JsonArray((inclusion ?? []).Select(c =>
            {
                var o = new JsonObject { ["index"] = c.Index, ["size"] = c.Size, ["proof"] = Array(c.Proof.Select(Hex)) };
                if (c.Entry is not null) o["entry"] = Hex(c.Entry);
                return (JsonNode)o;
            }).ToArray()),
            ["consistency"] = new JsonArray((consistency ?? []).Select(c =>
                (JsonNode)new JsonObject { ["old"] = c.Old, ["new"] = c.New, ["proof"] = Array(c.Proof.Select(Hex)) }).ToArray()),
        };
        string script = Path.Combine(AppContext.BaseDirectory, "Ledger", "rfc9162_reference.py");
        var psi = new ProcessStartInfo(Python) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(script);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {Python}");
        p.StandardInput.Write(claim.ToJsonString());
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(Timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Python} {script} did not finish within {Timeout}.");
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{Python} {script} exited with {p.ExitCode}: {stderr.Result}");
        var result = JsonNode.Parse(stdout.Result)!;
        static bool[] Bools(JsonNode? n) => n!.AsArray().Select(b => b!.GetValue<bool>()).ToArray();
        return (Bools(result["heads"]), Bools(result["inclusion"]), Bools(result["consistency"]));
    }

    private static JsonArray Array(IEnumerable<string> items) => new(items.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray());

    private static string Hex(byte[] b) => Convert.ToHexString(b).ToLowerInvariant();
}
