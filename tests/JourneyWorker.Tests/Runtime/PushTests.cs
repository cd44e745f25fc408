using JourneyWorker.Data;
using JourneyWorker.Journeys;
using JourneyWorker.Tests.Infrastructure;
using static JourneyWorker.Tests.Runtime.Engine;

namespace JourneyWorker.Tests.Runtime;

/// <summary>Push nodes: a send to the FCM endpoint, a pushOpened reaction, and a profile without a token taking errorNext.</summary>
public sealed class PushTests
{
    private const string Profiles = """
        {"identities": {"email": "p1@example.com"}, "attributes": {"n": 1, "name": "P1"}, "pushTokens": [{"token": "phone-1", "platform": "android"}]}
        {"identities": {"email": "p2@example.com"}, "attributes": {"n": 2, "name": "P2"}}
        """;

    [Fact]
    public async Task Push_is_sent_its_open_takes_next_and_a_profile_without_a_token_takes_errorNext()
    {
        await using var h = await EngineHarness.StartAsync(Ct);
        await h.ImportAsync(Profiles, Ct);
        var audience = await AudienceAsync(h);
        var (journey, version) = await PublishAsync(h, Journey("read", "",
            Read(audience, "p"),
            """{"id": "p", "type": "push", "title": "Hi {{profile.name}}", "body": "News", "data": {"k": "{{profile.n}}"}, "next": "r", "errorNext": "mail"}""",
            """{"id": "r", "type": "reaction", "action": "p", "reaction": "pushOpened", "timeout": "PT1H", "next": "thanks"}""",
            Mail("thanks", subject: "Thanks"), Mail("mail", subject: "No phone")));
        Assert.Equal(2, await h.ReadAudienceAsync(version, testOnly: false, Ct));
        await h.DrainAsync(Ct);

        var push = Assert.Single(h.Fcm.Messages);
        Assert.Equal(("phone-1", "Hi P1", "1"), (push.Token, push.Message["notification"]!["title"]!.GetValue<string>(), push.Message["data"]!["k"]!.GetValue<string>()));
        var openUrl = new Uri(push.Message["data"]!["openUrl"]!.GetValue<string>());
        var opened = await h.App.WithKey(null).PostAsync(openUrl.AbsolutePath, null, Ct);
        Assert.True(opened.IsSuccessStatusCode, $"{(int)opened.StatusCode}");
        await h.DrainAsync(Ct);

        var mails = await h.Smtp.WaitForMessagesAsync(2, cancellationToken: Ct);
        var subjects = mails.ToDictionary(m => m.To.Single(), m => m.Message.Subject);
        Assert.Equal(("Thanks", "No phone"), (subjects[Email(1)], subjects[Email(2)]));
        var instances = await InstancesAsync(h, journey);
        Assert.All(instances, i => Assert.Equal(InstanceStatus.Completed, i.Status));
        Assert.Equal(["p:entered", "p:succeeded", "r:entered", "r:succeeded"], (await TraceAsync(h, instances[0].Id))[2..6]);
        Assert.Equal(["p:entered", "p:failed", "mail:entered", "mail:succeeded"], (await TraceAsync(h, instances[1].Id))[2..]);
    }
}
