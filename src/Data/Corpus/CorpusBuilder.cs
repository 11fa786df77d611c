using System.Text;

namespace Hivemind.Data;

/// <summary>
/// Turns text files and folders into one LMD archive (.jsonl.zst), component by component in the order
/// given, files in ordinal order of their paths: the same inputs give a byte-identical archive.
/// </summary>
public static class CorpusBuilder
{
    private const int SniffBytes = 1 << 16;

    /// <summary>Writes <paramref name="output"/>; files that are not UTF-8 text are skipped and listed in the report.</summary>
    public static CorpusBuildReport Build(IReadOnlyList<CorpusComponent> components, string output, CorpusBuildOptions options,
        Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(output);
        options.Validate();
        foreach (CorpusComponent component in components)
        {
            (options with { Separator = component.Separator ?? options.Separator }).Validate();
        }
        if (components.Count == 0)
        {
            throw new ArgumentException("no component given; add --component NAME=PATH (one per component).");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        var files = new List<(CorpusComponent Component, List<string> Files)>();
        foreach (CorpusComponent component in components)
        {
            if (string.IsNullOrWhiteSpace(component.Name) || !names.Add(component.Name))
            {
                throw new ArgumentException($"component name '{component.Name}' is empty or given twice; give each component one distinct name.");
            }
            files.Add((component, Expand(component)));
        }

        var stats = new CorpusStatistics();
        var skipped = new List<string>();
        PartialOutput.Write<bool>([output], partials =>
        {
            using var writer = new LmdWriter(partials[0]);
            foreach (var (component, paths) in files)
            {
                progress?.Invoke($"{component.Name}: {paths.Count} files");
                var cutter = new DocumentCutter(component.Separator is null ? options : options with { Separator = component.Separator });
                foreach (string path in paths)
                {
                    string? reason = NotText(path);
                    if (reason is not null)
                    {
                        skipped.Add($"{path}: {reason}");
                        continue;
                    }
                    using var reader = new StreamReader(path, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
                    foreach (string document in cutter.Cut(reader))
                    {
                        writer.Write(document, component.Name);
                        stats.Add(component.Name, Encoding.UTF8.GetByteCount(document));
                    }
                }
            }
            return true;
        });
        return new CorpusBuildReport(output, stats, skipped);
    }

    /// <summary>The component's files: a file as is, a folder's files recursively, sorted by ordinal relative path.</summary>
    private static List<string> Expand(CorpusComponent component)
    {
        var result = new List<string>();
        if (component.Paths.Count == 0)
        {
            throw new ArgumentException($"component '{component.Name}' names no path; use NAME=PATH[,PATH...].");
        }
        foreach (string path in component.Paths)
        {
            if (File.Exists(path))
            {
                result.Add(path);
            }
            else if (Directory.Exists(path))
            {
                result.AddRange(Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
                    .Order(StringComparer.Ordinal));
            }
            else
            {
                throw new ArgumentException($"component '{component.Name}': '{path}' is neither a file nor a folder; check the path.");
            }
        }
        return result;
    }

    // Text means valid UTF-8 without NUL bytes; checked up front so a bad file never leaves half its documents behind.
    private static string? NotText(string path)
    {
        var decoder = new UTF8Encoding(false, throwOnInvalidBytes: true).GetDecoder();
        var bytes = new byte[SniffBytes];
        var chars = new char[SniffBytes + 1];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        long offset = 0;
        while (true)
        {
            int read = file.Read(bytes);
            if (bytes.AsSpan(0, read).IndexOf((byte)0) is int nul and >= 0)
            {
                return $"binary (NUL byte at offset {offset + nul})";
            }
            try
            {
                decoder.GetChars(bytes, 0, read, chars, 0, flush: read == 0);
            }
            catch (DecoderFallbackException)
            {
                return $"not UTF-8 (invalid bytes near offset {offset})";
            }
            if (read == 0) return null;
            offset += read;
        }
    }
}
