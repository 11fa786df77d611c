using System.CommandLine;
using Hivemind.Coordinator.Verification;
using Hivemind.Data;
using Hivemind.Training;
using Hivemind.Volunteer.CommandLine;

namespace Hivemind.Coordinator.SpotChecks;

/// <summary>
/// <c>verify-evidence &lt;file&gt;</c>: re-runs a failed spot check from its evidence file, so anyone can confirm a ban. Exit 0 when
/// the evidence holds (signature, payload hash, and a fresh recomputation that again disagrees), <see cref="NotConfirmed"/> when not.
/// </summary>
public static class VerifyEvidenceCommand
{
    public const string Name = "verify-evidence";

    /// <summary>Exit code when the evidence does not hold.</summary>
    public const int NotConfirmed = 3;

    public static Command Create(CliConsole console)
    {
        var file = new Argument<string>("file") { Description = "An evidence file (the coordinator writes them to <data-directory>/evidence/)" };
        var command = new Command(Name, "Re-run a failed spot check from its evidence file and say whether it fails again.") { file };
        command.SetAction((parse, ct) =>
        {
            string path = parse.GetValue(file)!;
            SpotCheckEvidence evidence;
            try
            {
                evidence = SpotCheckEvidence.Read(path);
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
            {
                throw new UsageException(e.Message, e);
            }
            TorchRuntime.EnsureLoaded();
            TorchSharp.torch.set_num_threads(1);
            var check = EvidenceCheck.Run(evidence, ct);
            var o = console.Out;
            o.WriteLine($"evidence against volunteer {evidence.VolunteerId}, unit {evidence.Recipe.WorkUnitId} (round {evidence.Recipe.Round}, version {evidence.Recipe.Version}, shard {evidence.Recipe.Shard})");
            o.WriteLine(evidence.Recipe.Data switch
            {
                null => $"data: the synthetic corpus of seed {evidence.Recipe.Seed} (a v{evidence.FormatVersion} file; the recipe derives it)",
                { Kind: DataKind.TokenSlice } d => $"data: token slice {d.FileSha256} ({d.ByteLength} bytes of {d.TokenBytes}-byte ids, vocabulary {d.VocabSize}), kept in the file ({evidence.Slice.Length} bytes)",
                var d => $"data: {d}",
            });
            o.WriteLine($"start parameters SHA-256 {evidence.StartSha256()} (compare with the coordinator's checkpoint of version {evidence.Recipe.Version})");
            o.WriteLine($"thresholds: relative L2 <= {evidence.Thresholds.MaxRelativeL2:G4}, cosine >= {evidence.Thresholds.MinCosine:G6}");
            o.WriteLine($"coordinator's recomputation vs the claim: {evidence.Divergence}");
            if (check.Fresh is { } fresh) o.WriteLine($"this recomputation vs the claim: {fresh}");
            if (check.Reproduction is { } r) o.WriteLine($"this recomputation vs the coordinator's: {r}");
            if (check.Confirmed)
            {
                o.WriteLine("CONFIRMED: the signed update disagrees with the recomputation of its unit.");
                return Task.FromResult(0);
            }
            foreach (var p in check.Problems) o.WriteLine($"problem: {p}");
            o.WriteLine("NOT CONFIRMED: this evidence does not show cheating.");
            return Task.FromResult(NotConfirmed);
        });
        return command;
    }
}
