using System.Net;
using System.Text.Json;

namespace Hivemind.Coordinator.Tests.Dashboard;

/// <summary>The JSON API over HTTP/1.1: pagination, clear errors for bad parameters, no secrets, the event stream.</summary>
public sealed class DashboardApiTests
{
    [Fact]
    public async Task ApiPaginatesRejectsBadParametersAndShowsNoSecrets()
    {
        await using var d = await DashboardHarness.StartAsync(volunteers: 2);
        await d.RunRoundAsync();
        await d.RunRoundAsync();
        d.Snapshots.Refresh();
        using var http = new HttpClient { BaseAddress = new Uri(d.Address) };

        using (var rounds = await GetJsonAsync(http, "/api/rounds?offset=1&limit=1"))
        {
            Assert.Equal(3, rounds.RootElement.GetProperty("total").GetInt64());
            var only = Assert.Single(rounds.RootElement.GetProperty("items").EnumerateArray());
            Assert.Equal(1, only.GetProperty("round").GetInt64()); // newest first: 2, then 1
        }
        using (var asc = await GetJsonAsync(http, "/api/rounds?order=asc&limit=2"))
            Assert.Equal([0L, 1], asc.RootElement.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("round").GetInt64()));
        using (var series = await GetJsonAsync(http, "/api/series?from=1"))
            Assert.Equal([1L, 2], series.RootElement.GetProperty("round").EnumerateArray().Select(r => r.GetInt64()));
        using (var volunteers = await GetJsonAsync(http, "/api/volunteers?limit=1&offset=1"))
        {
            Assert.Equal(2, volunteers.RootElement.GetProperty("total").GetInt64());
            Assert.Equal(2, Assert.Single(volunteers.RootElement.GetProperty("items").EnumerateArray()).GetProperty("rank").GetInt32());
        }

        foreach (var (path, named) in new[]
                 {
                     ("/api/rounds?limit=0", "limit '0'"), ("/api/rounds?limit=5000", "limit '5000'"), ("/api/rounds?offset=-1", "offset '-1'"),
                     ("/api/rounds?order=sideways", "order 'sideways'"), ("/api/volunteers?limit=x", "limit 'x'"), ("/api/series?from=-3", "from '-3'"),
                 })
        {
            using var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            string body = await response.Content.ReadAsStringAsync();
            Assert.Contains(named, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        }

        // Every reply the page uses, and the metrics, are free of session tokens.
        var everything = new List<string>();
        foreach (string path in new[] { "/", "/api/status", "/api/rounds", "/api/volunteers", "/api/series", "/api/rejections", "/metrics" })
            everything.Add(await http.GetStringAsync(path));
        foreach (var v in d.Volunteers)
            Assert.DoesNotContain(everything, body => body.Contains(v.Session, StringComparison.Ordinal));
    }

    [Fact]
    public async Task EventStreamAnnouncesAClosedRound()
    {
        await using var d = await DashboardHarness.StartAsync(volunteers: 1);
        d.Snapshots.Refresh();
        using var http = new HttpClient { BaseAddress = new Uri(d.Address) };
        using var response = await http.GetAsync("/api/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal(0, (await NextSnapshotAsync(reader)).GetProperty("round").GetInt64());

        await d.RunRoundAsync();
        // The publisher refreshes on the round-closed event by itself; read events until one shows round 1 (bounded).
        for (int i = 0; i < 20; i++)
        {
            if ((await NextSnapshotAsync(reader)).GetProperty("round").GetInt64() == 1) return;
        }
        Assert.Fail("20 snapshot events arrived and none showed round 1");
    }

    private static async Task<JsonElement> NextSnapshotAsync(StreamReader reader)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal)) return JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone();
        }
        throw new EndOfStreamException("the event stream ended");
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient http, string path) => JsonDocument.Parse(await http.GetStringAsync(path));
}
