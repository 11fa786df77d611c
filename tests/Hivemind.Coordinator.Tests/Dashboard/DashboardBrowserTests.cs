using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>
/// The dashboard in a real headless browser: Debian's Chromium driven by Playwright (never a downloaded browser),
/// against a coordinator that has trained a few rounds. Leaves a screenshot in artifacts/dashboard.png.
/// </summary>
public sealed class DashboardBrowserTests
{
    public const string Chromium = "/usr/bin/chromium";

    /// <summary>Bound on any one thing the page must show (it updates within about a second of a change).</summary>
    private const float PageTimeoutMs = 60_000;

    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run",
    ];

    [SkippableFact]
    public async Task PageShowsEveryRoundAndTheLedgerAndUpdatesWithoutAReload()
    {
        Skip.IfNot(File.Exists(Chromium), $"{Chromium} is missing: `apt-get install chromium` (.ci/run installs it)");
        await using var d = await DashboardHarness.StartAsync(volunteers: 2);
        var replayer = d.Volunteers[1];
        await d.RunRoundAsync((v, update) =>
        {
            if (v == replayer) DashboardHarness.Equivocate(v, update);
        });
        await d.RunRoundAsync();
        await d.RunRoundAsync();
        d.Snapshots.Refresh();

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ChromiumArgs,
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 1500 } });
        var errors = new List<string>();
        page.PageError += (_, e) => errors.Add(e);
        await page.GotoAsync(d.Address);

        // One point per closed round on the loss chart (the open round has no held-out loss yet).
        await Expect(page.Locator("#loss-chart")).ToHaveAttributeAsync("data-points", "3", new() { Timeout = PageTimeoutMs });
        var plotted = await page.EvaluateAsync<double[]>("() => state.lossPlot.data[0].filter((_, i) => state.lossPlot.data[1][i] !== null)");
        Assert.Equal([0.0, 1, 2], plotted);

        // The leaderboard matches the ledger: one row per volunteer, accepted updates and credit as the store has them.
        var ledger = d.LedgerCounts();
        var rows = page.Locator("#volunteers tbody tr");
        await Expect(rows).ToHaveCountAsync(ledger.Count, new() { Timeout = PageTimeoutMs });
        foreach (var (id, accepted) in ledger)
        {
            var row = page.Locator($"#volunteers tbody tr[data-volunteer='{id}']");
            await Expect(row.Locator("td.accepted")).ToHaveTextAsync(accepted.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Expect(row.Locator("td.credit")).ToHaveTextAsync((accepted * d.TokensPerUnit).ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            await Expect(row.Locator("td.rejected")).ToHaveTextAsync(id == replayer.Id ? "1" : "0");
        }

        // A new round appears without a reload: the marker set on this document survives, so no navigation happened.
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        await d.RunRoundAsync();
        await Expect(page.Locator("#rounds tbody tr[data-round='4']")).ToHaveCountAsync(1, new() { Timeout = PageTimeoutMs });
        await Expect(page.Locator("#loss-chart")).ToHaveAttributeAsync("data-points", "4", new() { Timeout = PageTimeoutMs });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page reloaded instead of updating itself");

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(RepositoryPaths.Artifacts, "dashboard.png"), FullPage = true });
        Assert.Empty(errors);
    }
}
