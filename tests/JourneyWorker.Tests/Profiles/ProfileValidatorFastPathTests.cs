using JourneyWorker.Profiles;

namespace JourneyWorker.Tests.Profiles;

/// <summary>The import skips the validator for lines the fast check vouches for: it must never vouch for one the validator refuses.</summary>
public sealed class ProfileValidatorFastPathTests
{
    public static TheoryData<string, bool> Requests => new()
    {
        { """{"identities": {"crmId": "1"}, "pushTokens": [{"token": "t", "platform": "ios"}]}""", true },
        { """{"identities": {"crmId": "1"}}""", true },
        { """{"attributes": {"a": 1}}""", true },
        { """{"identities": {"crmId": " "}}""", false },
        { """{"identities": {"crm\u0001Id": "1"}}""", false },
        { """{"identities": {"crmId": "1\n"}}""", false },
        { """{"pushTokens": [{"token": "t"}]}""", false },
        { """{"pushTokens": [{"token": " ", "platform": "web"}]}""", false },
        { """{"pushTokens": [{"token": "t", "platform": "windows"}]}""", false },
        { """{"pushTokens": [null]}""", false },
        { "{\"identities\": {\"crmId\": \"" + new string('x', 257) + "\"}}", false },
        { "{\"pushTokens\": [{\"token\": \"" + new string('x', 4097) + "\", \"platform\": \"web\"}]}", false },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public void The_fast_check_vouches_only_for_what_the_validator_accepts(string json, bool plain)
    {
        var request = System.Text.Json.JsonSerializer.Deserialize<ProfileRequest>(json, new System.Text.Json.JsonSerializerOptions(System.Text.Json.JsonSerializerDefaults.Web))!;
        var valid = new ProfileRequestValidator().Validate(request).IsValid;
        Assert.Equal(plain, ProfileRequestValidator.IsPlainlyValid(request));
        Assert.True(!plain || valid);
    }

    [Fact]
    public void Too_many_identities_or_tokens_are_left_to_the_validator()
    {
        var identities = Enumerable.Range(0, 21).ToDictionary(i => $"ns{i}", i => "v");
        var tokens = Enumerable.Range(0, 101).Select(i => new PushTokenRequest($"t{i}", "web")).ToList();
        Assert.False(ProfileRequestValidator.IsPlainlyValid(new ProfileRequest(identities, null, null, null, null)));
        Assert.False(ProfileRequestValidator.IsPlainlyValid(new ProfileRequest(null, null, tokens, null, null)));
        Assert.False(new ProfileRequestValidator().Validate(new ProfileRequest(identities, null, tokens, null, null)).IsValid);
    }
}
