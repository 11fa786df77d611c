using System.Text.Json;

namespace Hivemind.Data.Tests;

/// <summary>
/// Our LMD archives against lm_dataformat's own way of reading and writing them (python-zstandard's
/// stream_reader / stream_writer and json), so The Pile's tools and ours exchange files.
/// </summary>
public sealed class LmdPythonInteropTests : IDisposable
{
    // lm_dataformat's Reader.read_jsonl_zst: one stream_reader over the file, json per line.
    private const string PythonReader = """
        import io, json, sys, zstandard
        out = []
        with open(sys.argv[1], 'rb') as fh:
            for line in io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(fh)):
                ob = json.loads(line)
                out.append([ob['text'], ob['meta']['pile_set_name']])
        with open(sys.argv[2], 'w') as f:
            json.dump(out, f)
        """;

    // lm_dataformat's Archive.add_data + commit: json.dumps per line into a level-3 stream_writer, one frame.
    private const string PythonWriter = """
        import json, sys, zstandard
        with open(sys.argv[1]) as f:
            docs = json.load(f)
        with open(sys.argv[2], 'wb') as fh:
            w = zstandard.ZstdCompressor(level=3, threads=8).stream_writer(fh)
            for text, component in docs:
                w.write(json.dumps({'text': text, 'meta': {'pile_set_name': component}}).encode('UTF-8') + b'\n')
            w.flush(zstandard.FLUSH_FRAME)
        """;

    private readonly LmdFiles _files = new();

    [PythonZstdFact]
    public void ArchivesWeWriteReadBackIdenticallyInPython()
    {
        string archive = Path.Combine(_files.Folder, "ours.jsonl.zst");
        using (var writer = new LmdWriter(archive))
        {
            foreach (var (text, component) in CorpusTexts.Documents) writer.Write(text, component);
        }
        string dump = Path.Combine(_files.Folder, "python.json");

        PythonZstd.Run(PythonReader, archive, dump);

        Assert.Equal(CorpusTexts.Documents, ReadPairs(dump));
    }

    [PythonZstdFact]
    public void ArchivesPythonWritesReadIdenticallyInOurs()
    {
        string input = Path.Combine(_files.Folder, "docs.json");
        File.WriteAllText(input, JsonSerializer.Serialize(CorpusTexts.Documents.Select(d => new[] { d.Text, d.Component })));
        string archive = Path.Combine(_files.Folder, "python.jsonl.zst");

        PythonZstd.Run(PythonWriter, input, archive);

        using var reader = new LmdReader(archive);
        Assert.Equal(LmdCompression.Zstd, reader.Compression);
        Assert.Equal(CorpusTexts.Documents, reader.Documents().Select(d => (d.Text, LmdMeta.Component(d.MetaJson))).ToList());
        Assert.Equal(CorpusTexts.Documents.Count, CorpusInspector.Inspect(archive).Statistics.Documents);
    }

    [PythonZstdFact]
    public void ArchivesOurBuildWritesReadBackInPython()
    {
        string folder = Directory.CreateDirectory(Path.Combine(_files.Folder, "src")).FullName;
        for (int i = 0; i < CorpusTexts.Documents.Count; i++) File.WriteAllText(Path.Combine(folder, $"{i:D3}.txt"), CorpusTexts.Documents[i].Text);
        string archive = Path.Combine(_files.Folder, "built.jsonl.zst");
        CorpusBuilder.Build([new CorpusComponent("Files", [folder])], archive, new CorpusBuildOptions(MaxDocumentChars: 1 << 20));
        string dump = Path.Combine(_files.Folder, "python.json");

        PythonZstd.Run(PythonReader, archive, dump);

        Assert.Equal(CorpusTexts.Documents.Select(d => (d.Text, "Files")), ReadPairs(dump));
    }

    public void Dispose() => _files.Dispose();

    private static List<(string, string)> ReadPairs(string path) =>
        JsonSerializer.Deserialize<string[][]>(File.ReadAllText(path))!.Select(p => (p[0], p[1])).ToList();
}
