using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using JourneyWorker.Tests.Infrastructure;
using JourneyWorker.Tracking;
using Microsoft.Extensions.DependencyInjection;

namespace JourneyWorker.Tests.Tracking;

/// <summary>Every /t/** route refuses what it did not issue for that purpose with a 404, and nothing changes.</summary>
public sealed class ForgedTokenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly string[] Routes = ["GET /t/o/", "GET /t/c/", "GET /t/u/", "POST /t/u/", "POST /t/p/"];

    [Fact]
    public async Task Forged_altered_misrouted_and_orphan_tokens_are_404_and_change_nothing()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        var s = await TrackingScenario.StartAsync(h, TrackingScenario.Person("ann@example.com", extra: """, "pushTokens": [{"token": "ann-phone", "platform": "ios"}]"""), "p", """
            { "id": "p", "type": "push", "title": "Hi", "body": "There", "next": "m" },
            { "id": "m", "type": "email", "subject": "Hello", "html": "<p><a href=\"https://shop.example.com/\">shop</a></p>", "next": "r" },
            { "id": "r", "type": "reaction", "action": "m", "reaction": "emailOpened", "next": "done", "timeout": "P1D", "timeoutNext": "done" },
            { "id": "done", "type": "end" }
            """, Ct);
        var mail = Assert.Single(await h.Smtp.WaitForMessagesAsync(1, cancellationToken: Ct));
        var open = EngineHarness.PixelPath(mail)["/t/o/".Length..];
        var click = EngineHarness.TrackingPath(mail, "c")["/t/c/".Length..];
        var unsubscribe = mail.Message.Headers["List-Unsubscribe"]!.Split("/t/u/")[1].TrimEnd('>');
        var push = Assert.Single(h.Fcm.Messages).Message["data"]!["trackingToken"]!.GetValue<string>();
        var genuine = new Dictionary<string, string> { ["GET /t/o/"] = open, ["GET /t/c/"] = click, ["GET /t/u/"] = unsubscribe, ["POST /t/u/"] = unsubscribe, ["POST /t/p/"] = push };

        var tokens = h.App.Services.GetRequiredService<TrackingTokens>();
        var orphan = new Dictionary<string, string>
        {
            ["GET /t/o/"] = tokens.Create(TrackingKind.Open, 987654),
            ["GET /t/c/"] = tokens.Create(TrackingKind.Click, 987654, 0),
            ["GET /t/u/"] = tokens.Create(TrackingKind.Unsubscribe, 987654),
            ["POST /t/u/"] = tokens.Create(TrackingKind.Unsubscribe, 987654),
            ["POST /t/p/"] = tokens.Create(TrackingKind.PushOpen, 987654),
        };

        var client = s.Anonymous();
        var tried = 0;
        async Task RefusedAsync(string route, string token)
        {
            var parts = route.Split(' ');
            using var request = new HttpRequestMessage(new HttpMethod(parts[0]), parts[1] + Uri.EscapeDataString(token));
            if (parts[0] == "POST")
            {
                request.Content = new FormUrlEncodedContent([new("List-Unsubscribe", "One-Click")]);
            }
            var response = await client.SendAsync(request, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{route}{token}: {(int)response.StatusCode}");
            tried++;
        }

        foreach (var route in Routes)
        {
            // Random strings: short, the right length, too long, not base64url at all.
            await RefusedAsync(route, "abc");
            await RefusedAsync(route, Base64Url(RandomNumberGenerator.GetBytes(29)));
            await RefusedAsync(route, Base64Url(RandomNumberGenerator.GetBytes(200)));
            await RefusedAsync(route, "not a token!");

            // The genuine token of this route with any one character changed.
            var token = genuine[route];
            for (var i = 0; i < token.Length; i++)
            {
                var changed = token[i] == 'A' ? 'B' : 'A';
                await RefusedAsync(route, token[..i] + changed + token[(i + 1)..]);
            }

            // The same bytes spelt differently: only the unused low bits of the last character changed.
            const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            await RefusedAsync(route, token[..^1] + Alphabet[Alphabet.IndexOf(token[^1], StringComparison.Ordinal) ^ 1]);

            // A genuine token of another kind, and a correctly signed one for a message that does not exist.
            foreach (var other in genuine.Where(g => g.Value != token))
            {
                await RefusedAsync(route, other.Value);
            }
            await RefusedAsync(route, orphan[route]);
        }
        Assert.True(tried > 200);

        await h.DrainAsync(Ct);
        await using (var db = h.App.Db())
        {
            Assert.Empty(db.MessageReactions);
        }
        var profile = JsonNode.Parse(await h.Client.GetStringAsync("/api/profiles/email/ann@example.com", Ct))!;
        Assert.True(profile["consent"]!["email"]!.GetValue<bool>());
        var instance = await s.InstanceAsync("ann@example.com", Ct);
        Assert.Equal("waiting", instance["status"]!.GetValue<string>());

        // The genuine tokens still work afterwards, with no API key.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync($"/t/o/{open}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync($"/t/c/{click}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.PostAsync($"/t/p/{push}", null, Ct)).StatusCode);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
