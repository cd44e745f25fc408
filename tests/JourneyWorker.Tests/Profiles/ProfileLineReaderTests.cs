using System.Text;
using System.Text.Json;
using JourneyWorker.Profiles;

namespace JourneyWorker.Tests.Profiles;

/// <summary>
/// The import's fast line reader must read exactly what the general path (JsonSerializer with the API's options, then
/// the JsonObject written back) reads, and must leave every other line to it.
/// </summary>
public sealed class ProfileLineReaderTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web) { MaxDepth = 64 };

    public static TheoryData<string> Plain => new()
    {
        """{"identities":{"email":"p1@example.com"},"attributes":{"person":{"name":{"firstName":"Ann"},"birthYear":1984},"homeAddress":{"city":"San Francisco"},"personalEmail":{"address":"p1@example.com"}}}""",
        """{"attributes":{"n":1},"identities":{"crmId":"1","email":"a@b.c"}}""",
        """{"identities":{"crmId":"1"}}""",
        """ {"identities":{"crmId":"1"},"attributes":{}} """,
        """{"identities":{"crmId":"1"},"attributes":{"a":[1,2.50,-0,1e3,1E-7,12345678901234567890123,true,false,null,{"b":[]}],"s":"x y;z=1/2#%"}}""",
        """{"identities":{"crmId":"1"},"attributes":{"a":{"x":1},"b":{"x":2},"x":3}}""",
        """{"identities":{"crmId":"1"},"consent":{"email":false},"testProfile":true}""",
        """{"identities":{"crmId":"1"},"consent":{"push":false,"email":true},"testProfile":false,"attributes":{"v":"1"}}""",
        """{"identities":{"crm\u0049d":"caf\u00e9"},"attributes":{"n":2}}""",
        "{\"identities\": {\"crmId\": \"1\"},\r\n \"attributes\":{\"n\":2}}",
    };

    [Theory]
    [MemberData(nameof(Plain))]
    public void A_plain_line_reads_as_the_general_path_reads_it(string line)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        Assert.True(ProfileLineReader.TryRead(bytes, out var fast, out var attributes));

        var general = JsonSerializer.Deserialize<ProfileRequest>(bytes, Web)!;
        Assert.True(ProfileRequestValidator.IsPlainlyValid(general));
        Assert.Equal((general.Attributes ?? []).ToJsonString(), attributes);
        Assert.Equal(general.Identities, fast!.Identities);
        Assert.Equal((general.Consent, general.TestProfile), (fast.Consent, fast.TestProfile));
        Assert.Null(fast.PushTokens);
    }

    public static TheoryData<string> Others => new()
    {
        // Attributes whose stored text differs from the line's: whitespace, escapes, non-ASCII, HTML-sensitive characters.
        """{"identities":{"crmId":"1"},"attributes":{"a": 1}}""",
        """{"identities":{"crmId":"1"},"attributes":{"a":"x\ny"}}""",
        """{"identities":{"crmId":"1"},"attributes":{"a":"caf\u00e9"}}""",
        """{"identities":{"crmId":"1"},"attributes":{"a":"café"}}""",
        """{"identities":{"crmId":"1"},"attributes":{"a":"<b>&'+`"}}""",
        """{"identities":{"crmId":"1"},"attributes":{"\u0061":1}}""",
        // Repeated names: JsonObject and the dictionary decide which one stays.
        """{"identities":{"crmId":"1"},"attributes":{"a":1,"a":2}}""",
        """{"identities":{"crmId":"1"},"attributes":{"o":{"a":1,"a":2}}}""",
        """{"identities":{"crmId":"1","crmId":"2"}}""",
        """{"identities":{"crmId":"1"},"identities":{"crmId":"2"}}""",
        // Shapes left to JsonSerializer: other names or cases, nulls, push tokens, strings for booleans.
        """{"Identities":{"crmId":"1"}}""",
        """{"identities":{"crmId":"1"},"attributes":null}""",
        """{"identities":{"crmId":"1"},"pushTokens":[{"token":"t","platform":"ios"}]}""",
        """{"identities":{"crmId":"1"},"consent":{"email":"false"}}""",
        """{"identities":{"crmId":"1"},"consent":null}""",
        """{"identities":{"crmId":"1"},"testProfile":1}""",
        """{"identities":{"crmId":"1"},"unknown":1}""",
        // Lines that fail: the general path words the error.
        """{"identities":{}}""",
        """{"attributes":{"a":1}}""",
        """{"identities":{"crmId":" "}}""",
        """{"identities":{"crmId":1}}""",
        """{"identities":{"crmId":"1"}} x""",
        """{"identities":{"crmId":"1"}""",
        """{"identities":{"crmId":"1"},"attributes":{"a":1}""",
        """null""",
        """[]""",
        "\uFEFF{\"identities\":{\"crmId\":\"1\"}}",
    };

    [Theory]
    [MemberData(nameof(Others))]
    public void Any_other_line_is_left_to_the_general_path(string line) =>
        Assert.False(ProfileLineReader.TryRead(Encoding.UTF8.GetBytes(line), out _, out _));

    [Fact]
    public void Too_many_identities_or_too_deep_attributes_are_left_to_the_general_path()
    {
        var identities = string.Join(',', Enumerable.Range(0, 21).Select(i => $"\"ns{i}\":\"v\""));
        Assert.False(ProfileLineReader.TryRead(Encoding.UTF8.GetBytes($"{{\"identities\":{{{identities}}}}}"), out _, out _));
        var deep = string.Concat(Enumerable.Repeat("{\"a\":", 70)) + "1" + new string('}', 70);
        Assert.False(ProfileLineReader.TryRead(Encoding.UTF8.GetBytes($"{{\"identities\":{{\"crmId\":\"1\"}},\"attributes\":{deep}}}"), out _, out _));
    }
}
