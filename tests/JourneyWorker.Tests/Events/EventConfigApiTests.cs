using System.Net;
using System.Net.Http.Json;
using JourneyWorker.Events;
using JourneyWorker.Tests.Infrastructure;

namespace JourneyWorker.Tests.Events;

public sealed class EventConfigApiTests(JourneyWorkerApp app) : IClassFixture<JourneyWorkerApp>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record ValidationBody(Dictionary<string, string[]> Errors);

    private static object Purchase(string name = "purchase") => new
    {
        name,
        idType = "ruleBased",
        condition = "purchaseMessage = \"thank you\"",
        @namespace = "email",
        profileIdentifier = "customerEmail",
        fields = new[] { new { path = "productName", type = "string" }, new { path = "purchaseDate", type = "dateTime" } },
    };

    [Fact]
    public async Task Create_get_list_update_delete()
    {
        var client = app.Admin();
        var created = await client.PostAsJsonAsync("/api/event-configs", Purchase(), Ct);
        var config = await created.OkAsync<EventConfigResponse>(201);
        Assert.Equal($"/api/event-configs/{config.Id}", created.Headers.Location?.OriginalString);
        Assert.Null(config.EventId);
        Assert.Equal([new EventField("productName", "string"), new EventField("purchaseDate", "dateTime")], config.Fields);

        var fetched = await (await client.GetAsync($"/api/event-configs/{config.Id}", Ct)).OkAsync<EventConfigResponse>();
        Assert.Equal(config.Fields, fetched.Fields);
        Assert.Contains((await (await client.GetAsync("/api/event-configs", Ct)).OkAsync<List<EventConfigResponse>>()), c => c.Id == config.Id);

        var updated = await (await client.PutAsJsonAsync($"/api/event-configs/{config.Id}", new
        {
            name = "purchase",
            idType = "systemGenerated",
            @namespace = "crmId",
            profileIdentifier = "customer.id",
            fields = new[] { new { path = "order.total", type = "number" } },
        }, Ct)).OkAsync<EventConfigResponse>();
        Assert.Equal("systemGenerated", updated.IdType);
        Assert.NotNull(updated.EventId);
        Assert.Equal([new EventField("order.total", "number")], updated.Fields);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/event-configs/{config.Id}", Ct)).StatusCode);
        await (await client.GetAsync($"/api/event-configs/{config.Id}", Ct)).ProblemAsync(404);
        await (await client.DeleteAsync($"/api/event-configs/{config.Id}", Ct)).ProblemAsync(404);
        await (await client.PutAsJsonAsync($"/api/event-configs/{config.Id}", Purchase(), Ct)).ProblemAsync(404);
    }

    [Fact]
    public async Task System_generated_configs_get_an_unguessable_event_id()
    {
        var client = app.Admin();
        var body = new { name = "signup", idType = "systemGenerated", @namespace = "email", profileIdentifier = "email" };
        var first = await (await client.PostAsJsonAsync("/api/event-configs", body, Ct)).OkAsync<EventConfigResponse>(201);
        var second = await (await client.PostAsJsonAsync("/api/event-configs", body with { name = "signup2" }, Ct)).OkAsync<EventConfigResponse>(201);
        Assert.Matches("^evt_[0-9a-f]{32}$", first.EventId);
        Assert.NotEqual(first.EventId, second.EventId);

        // Edits keep the id that senders already put in their payloads.
        var edited = await (await client.PutAsJsonAsync($"/api/event-configs/{first.Id}", body with { profileIdentifier = "user.email" }, Ct))
            .OkAsync<EventConfigResponse>();
        Assert.Equal(first.EventId, edited.EventId);
    }

    [Fact]
    public async Task A_duplicate_name_is_409()
    {
        var client = app.Admin();
        await (await client.PostAsJsonAsync("/api/event-configs", Purchase("dup"), Ct)).OkAsync<EventConfigResponse>(201);
        var problem = await (await client.PostAsJsonAsync("/api/event-configs", Purchase("dup"), Ct)).ProblemAsync(409);
        Assert.Contains("'dup'", problem.Detail, StringComparison.Ordinal);

        var other = await (await client.PostAsJsonAsync("/api/event-configs", Purchase("dup_other"), Ct)).OkAsync<EventConfigResponse>(201);
        await (await client.PutAsJsonAsync($"/api/event-configs/{other.Id}", Purchase("dup"), Ct)).ProblemAsync(409);
    }

    [Fact]
    public async Task Bad_configurations_list_every_problem_by_field()
    {
        var response = await app.Admin().PostAsJsonAsync("/api/event-configs", new
        {
            name = "has space",
            idType = "sometimes",
            condition = "a = (1",
            profileIdentifier = "",
            fields = new[]
            {
                new { path = "ok", type = "string" }, new { path = "ok", type = "number" }, new { path = "bad path", type = "string" },
                new { path = "x", type = "decimal" },
            },
        }, Ct);
        await response.ProblemAsync(400);
        var errors = (await response.Content.ReadFromJsonAsync<ValidationBody>(System.Text.Json.JsonSerializerOptions.Web, Ct))!.Errors;
        Assert.Contains("identifier", errors["name"][0], StringComparison.Ordinal);
        Assert.Contains("ruleBased or systemGenerated", errors["idType"][0], StringComparison.Ordinal);
        Assert.Contains("Expected ')' at position 6", errors["condition"][0], StringComparison.Ordinal);
        Assert.True(errors.ContainsKey("namespace"));
        Assert.True(errors.ContainsKey("profileIdentifier"));
        Assert.Contains("once", errors["fields"][0], StringComparison.Ordinal);
        Assert.Contains("dotted path", errors["fields[2].path"][0], StringComparison.Ordinal);
        Assert.Contains("must be one of", errors["fields[3].type"][0], StringComparison.Ordinal);

        var noCondition = await app.Admin().PostAsJsonAsync("/api/event-configs", new { name = "n", idType = "ruleBased", @namespace = "email", profileIdentifier = "e" }, Ct);
        await noCondition.ProblemAsync(400);
        var noConditionErrors = (await noCondition.Content.ReadFromJsonAsync<ValidationBody>(System.Text.Json.JsonSerializerOptions.Web, Ct))!.Errors;
        Assert.Contains("needs a 'condition'", noConditionErrors["condition"][0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Routes_need_the_admin_key()
    {
        await (await app.WithKey(null).GetAsync("/api/event-configs", Ct)).ProblemAsync(401);
        await (await app.Ingest().PostAsJsonAsync("/api/event-configs", Purchase("ingest"), Ct)).ProblemAsync(401);
    }
}
