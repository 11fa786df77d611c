using Hivemind.Coordinator.Hosting;

namespace Hivemind.Coordinator.Tests.Cli;

/// <summary>Each unsafe setting gets its own loud warning, and a safe configuration none.</summary>
public sealed class StartupWarningsTests
{
    private static readonly CoordinatorOptions Safe = new()
    {
        TrunkRule = "nnm(f=1) | trimmed-mean(f=1)",
        ExpertRule = "median",
        AdmissionToken = "s3cret",
    };

    private static readonly ListenSettings Loopback = new("127.0.0.1", 5000);

    [Fact]
    public void SafeSettingsWarnOfNothing()
    {
        Assert.Empty(StartupWarnings.For(Safe, Loopback));
        Assert.Empty(StartupWarnings.For(Safe, new ListenSettings("0.0.0.0", 5000, "cert.pem", "key.pem")));
        Assert.Empty(StartupWarnings.For(Safe, new ListenSettings("::1", 5000)));
        Assert.Empty(StartupWarnings.For(Safe, new ListenSettings("localhost", 5000)));
    }

    [Theory]
    [InlineData("mean")]
    [InlineData("clip(tau=1) | mean")]
    public void MeanTrunkRuleIsWarned(string rule)
    {
        var warning = Assert.Single(StartupWarnings.For(Safe with { TrunkRule = rule }, Loopback));
        Assert.Contains("--trunk-rule", warning);
        Assert.Contains("not robust", warning);
    }

    [Fact]
    public void MeanExpertRuleIsWarned()
    {
        var warning = Assert.Single(StartupWarnings.For(Safe with { ExpertRule = "mean" }, Loopback));
        Assert.Contains("--expert-rule", warning);
        Assert.Contains("not robust", warning);
    }

    [Fact]
    public void OpenAdmissionIsWarned()
    {
        var warning = Assert.Single(StartupWarnings.For(Safe with { AdmissionToken = "" }, Loopback));
        Assert.Contains("admission is OPEN", warning);
        Assert.Contains("--admission-token", warning);
    }

    [Fact]
    public void SpotChecksTurnedOffAreWarned()
    {
        var warning = Assert.Single(StartupWarnings.For(Safe with { SpotCheckProbability = 0, SpotCheckProbationProbability = 0 }, Loopback));
        Assert.Contains("spot checks are OFF", warning);
        Assert.Contains("--spot-check-probability", warning);
        Assert.Contains("0.05", warning); // the fix: the default rate
    }

    [Fact]
    public void SpotChecksOnlyOnProbationAreWarned()
    {
        var warning = Assert.Single(StartupWarnings.For(Safe with { SpotCheckProbability = 0 }, Loopback));
        Assert.Contains("--spot-check-probability is 0", warning);
        Assert.Contains("never recomputed again", warning);
    }

    [Fact]
    public void ANonDurableStoreIsWarned()
    {
        var warning = Assert.Single(StartupWarnings.For(Safe with { Durable = false }, Loopback));
        Assert.Contains("--durable is false", warning);
        Assert.Contains("loses every round", warning);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("::")]
    [InlineData("192.168.1.20")]
    public void CleartextOffLoopbackIsWarned(string host)
    {
        var warning = Assert.Single(StartupWarnings.For(Safe, new ListenSettings(host, 5000)));
        Assert.Contains($"listening on {host} WITHOUT TLS", warning);
        Assert.Contains("--tls-certificate", warning);
    }
}
