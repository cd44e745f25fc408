using System.Text.Json.Nodes;
using JourneyWorker.Events;

namespace JourneyWorker.Tests.Events;

public sealed class EventFieldCheckerTests
{
    private static readonly EventField[] Fields =
    [
        new("productName", "string"), new("quantity", "integer"), new("price", "number"), new("gift", "boolean"),
        new("purchaseDate", "dateTime"), new("customer", "object"), new("items", "array"), new("customer.email", "string"),
    ];

    [Fact]
    public void A_payload_of_the_right_types_passes_and_missing_fields_are_fine()
    {
        var payload = JsonNode.Parse("""
            {"productName": "Lamp", "quantity": 2, "price": 19.5, "gift": false, "purchaseDate": "2026-03-02T09:00:00Z",
             "customer": {"email": "a@example.com"}, "items": []}
            """)!.AsObject();
        Assert.Empty(EventFieldChecker.Check(payload, Fields));
        Assert.Empty(EventFieldChecker.Check(new JsonObject { ["purchaseDate"] = "2026-03-02", ["quantity"] = 3.0 }, Fields));
        Assert.Empty(EventFieldChecker.Check(new JsonObject { ["productName"] = null }, Fields));
    }

    [Theory]
    [InlineData("""{"productName": 5}""", "Field 'productName' must be a string, not a number.")]
    [InlineData("""{"quantity": 2.5}""", "Field 'quantity' must be an integer, not a number.")]
    [InlineData("""{"quantity": "2"}""", "Field 'quantity' must be an integer, not a string.")]
    [InlineData("""{"price": "19.5"}""", "Field 'price' must be a number, not a string.")]
    [InlineData("""{"gift": "yes"}""", "Field 'gift' must be a boolean, not a string.")]
    [InlineData("""{"purchaseDate": "yesterday"}""", "Field 'purchaseDate' must be a dateTime, not a string.")]
    [InlineData("""{"purchaseDate": "2026-13-45"}""", "Field 'purchaseDate' must be a dateTime, not a string.")]
    [InlineData("""{"purchaseDate": 20260302}""", "Field 'purchaseDate' must be a dateTime, not a number.")]
    [InlineData("""{"customer": [], "customer.email": 1}""", "Field 'customer' must be an object, not an array.")]
    [InlineData("""{"customer": {"email": true}}""", "Field 'customer.email' must be a string, not a boolean.")]
    [InlineData("""{"items": {}}""", "Field 'items' must be an array, not an object.")]
    public void A_field_of_the_wrong_type_is_named(string json, string message)
    {
        var problems = EventFieldChecker.Check(JsonNode.Parse(json)!.AsObject(), Fields);
        Assert.Equal(message, Assert.Single(problems));
    }

    [Fact]
    public void Every_wrong_field_is_reported()
    {
        var problems = EventFieldChecker.Check(new JsonObject { ["productName"] = 1, ["gift"] = 0, ["price"] = 3 }, Fields);
        Assert.Equal(2, problems.Count);
    }
}
