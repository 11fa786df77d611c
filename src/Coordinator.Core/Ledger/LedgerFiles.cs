using System.Text.Json;
using System.Text.Json.Nodes;
using Hivemind.Coordinator.Storage;
using Hivemind.Protocol.Ledger;

namespace Hivemind.Coordinator.Ledger;

/// <summary>
/// The ledger's files for auditors: a tree head (JSON: tree_size, root_hash, timestamp_unix_ms, signature, public_key; hex) and an
/// export (JSON: format, public_key, tree_head, entries as base64 in leaf order), readable by any JSON library.
/// </summary>
public static class LedgerFiles
{
    /// <summary>The value of an export's <c>format</c> field.</summary>
    public const string ExportFormat = "hivemind-ledger-export/1";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static JsonObject HeadToJson(TreeHead head) => new()
    {
        ["tree_size"] = head.TreeSize,
        ["root_hash"] = Hex(head.RootHash),
        ["timestamp_unix_ms"] = head.TimestampUnixMs,
        ["signature"] = Hex(head.Signature),
        ["public_key"] = Hex(head.PublicKey),
    };

    public static TreeHead HeadFromJson(JsonNode? node, string source)
    {
        try
        {
            var o = node?.AsObject() ?? throw new InvalidDataException("it is not a JSON object");
            return new TreeHead(o["tree_size"]!.GetValue<long>(), Unhex(o["root_hash"]), o["timestamp_unix_ms"]!.GetValue<long>(),
                Unhex(o["signature"]), Unhex(o["public_key"]));
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or InvalidDataException)
        {
            throw new InvalidDataException($"{source} is not a tree head ({e.Message}); expected a JSON object with tree_size, root_hash, timestamp_unix_ms, signature and public_key (hex), as `hivemind audit --save-head` writes", e);
        }
    }

    public static void WriteHead(string path, TreeHead head) => File.WriteAllText(path, HeadToJson(head).ToJsonString(Indented));

    public static TreeHead ReadHead(string path) => HeadFromJson(ParseFile(path), $"tree head file '{path}'");

    /// <summary>Writes every stored entry and a freshly signed head of them (the coordinator's claim about its log now).</summary>
    public static void Export(string path, TreeHead head, IReadOnlyList<byte[]> entries)
    {
        var array = new JsonArray();
        foreach (var e in entries) array.Add(Convert.ToBase64String(e));
        var o = new JsonObject
        {
            ["format"] = ExportFormat,
            ["public_key"] = Hex(head.PublicKey),
            ["tree_head"] = HeadToJson(head),
            ["entries"] = array,
        };
        File.WriteAllText(path, o.ToJsonString(Indented));
    }

    public static (TreeHead Head, IReadOnlyList<byte[]> Entries) ReadExport(string path)
    {
        var node = ParseFile(path);
        try
        {
            var o = node?.AsObject() ?? throw new InvalidDataException("it is not a JSON object");
            string format = o["format"]?.GetValue<string>() ?? "";
            if (format != ExportFormat) throw new InvalidDataException($"its format is '{format}', not '{ExportFormat}'");
            var head = HeadFromJson(o["tree_head"], $"the tree_head of '{path}'");
            var entries = o["entries"]!.AsArray().Select(e => Convert.FromBase64String(e!.GetValue<string>())).ToList();
            return (head, entries);
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new InvalidDataException($"ledger export '{path}' is malformed ({e.Message}); write it with `hivemind export-ledger`", e);
        }
    }

    /// <summary>An export of a stopped coordinator's data directory: its stored entries, byte for byte, under a head signed with its key.</summary>
    public static TreeHead ExportDataDirectory(string dataDirectory, string path, TimeProvider time)
    {
        string db = Path.Combine(dataDirectory, "coordinator.db");
        if (!File.Exists(db)) throw new FileNotFoundException($"'{dataDirectory}' holds no coordinator store (coordinator.db); give the --data-directory of a coordinator", db);
        using var store = new CoordinatorStore(db);
        using var key = Protocol.Identity.VolunteerIdentity.Load(Path.Combine(dataDirectory, DecisionLedger.KeyFileName));
        var entries = store.LedgerEntries(0, store.LedgerSize());
        var tree = new MerkleTree();
        foreach (var e in entries) tree.Append(MerkleHash.Leaf(e));
        var head = TreeHead.Sign(key, tree.Size, tree.Root(tree.Size), time.GetUtcNow().ToUnixTimeMilliseconds());
        Export(path, head, entries);
        return head;
    }

    private static JsonNode? ParseFile(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"'{path}' does not exist", path);
        try
        {
            return JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not JSON ({e.Message})", e);
        }
    }

    private static string Hex(byte[] bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    private static byte[] Unhex(JsonNode? node) => Convert.FromHexString(node?.GetValue<string>() ?? throw new InvalidDataException("a hex field is missing"));
}
