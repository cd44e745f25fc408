namespace JourneyWorker.Infrastructure;

public static partial class ApiExamples
{
    /// <summary>The multi-channel journey of the README: an e-mail, an open or a follow-up, a purchase and a "thank you" push.</summary>
    private static class Journey
    {
        public const string Definition = $$$"""
            {"name": "Multi-channel", "start": "read", "timeout": "P91D", "reentrance": {"allowed": false, "waitPeriod": "P1D"},
             "nodes": [
               {"id": "read", "type": "readAudience", "audience": "{{{AudienceId}}}", "schedule": {"frequency": "once"}, "next": "first"},
               {"id": "first", "type": "email", "subject": "Hello {{profile.person.name.firstName}}", "html": "<p>Hi {{profile.person.name.firstName}}, see <a href=\"https://shop.example.com/new\">what is new</a></p>", "next": "opened"},
               {"id": "opened", "type": "reaction", "action": "first", "reaction": "emailOpened", "next": "purchase", "timeout": "P1D", "timeoutNext": "followUp"},
               {"id": "followUp", "type": "email", "subject": "Did you miss us?", "html": "<p>Still there?</p>"},
               {"id": "purchase", "type": "event", "event": "purchase", "next": "thanks"},
               {"id": "thanks", "type": "push", "title": "Thank you", "body": "Enjoy your {{events.purchase.productName}}"}
             ]}
            """;

        public static string Response(string status, bool testMode = false) => $$"""
            {"id": "{{JourneyId}}", "name": "Multi-channel", "version": 1, "status": "{{status}}", "testMode": {{(testMode ? "true" : "false")}},
             {{(testMode ? "\"waitOverride\": \"PT30S\"," : "")}}
             "definition": {{Definition}},
             "versions": [{"version": 1, "status": "{{status}}", "testMode": {{(testMode ? "true" : "false")}}, "createdAt": "2026-03-01T08:10:00Z"{{(status == "draft" ? "" : ", \"publishedAt\": \"2026-03-01T08:20:00Z\"")}}}]}
            """;

        public const string Report = """
            {"nodes": {
               "read": {"entered": 4, "succeeded": 4, "failed": 0, "timedOut": 0, "skipped": 0, "waitingNow": 0, "conversions": 0, "bounced": 0, "complained": 0},
               "first": {"entered": 4, "succeeded": 3, "failed": 0, "timedOut": 0, "skipped": 1, "waitingNow": 0, "conversions": 1, "bounced": 0, "complained": 0},
               "opened": {"entered": 4, "succeeded": 1, "failed": 0, "timedOut": 3, "skipped": 0, "waitingNow": 0, "conversions": 0, "bounced": 0, "complained": 0},
               "followUp": {"entered": 3, "succeeded": 2, "failed": 0, "timedOut": 0, "skipped": 1, "waitingNow": 0, "conversions": 0, "bounced": 1, "complained": 0},
               "purchase": {"entered": 1, "succeeded": 1, "failed": 0, "timedOut": 0, "skipped": 0, "waitingNow": 0, "conversions": 0, "bounced": 0, "complained": 0},
               "thanks": {"entered": 1, "succeeded": 1, "failed": 0, "timedOut": 0, "skipped": 0, "waitingNow": 0, "conversions": 0, "bounced": 0, "complained": 0}},
             "instances": {"active": 0, "waiting": 0, "completed": 4, "failed": 0, "exited": 0},
             "conversions": 1}
            """;

        public const string Instance = $$"""
            {"id": 5001, "journeyId": "{{JourneyId}}", "version": 1, "profileId": 1042, "status": "waiting", "node": "purchase",
             "waitingFor": "event:purchase", "dueAt": "2026-05-31T08:20:00Z", "test": false, "enteredAt": "2026-03-01T08:20:01Z",
             "steps": [
               {"seq": 1, "node": "read", "outcome": "entered", "at": "2026-03-01T08:20:01Z"},
               {"seq": 2, "node": "read", "outcome": "succeeded", "at": "2026-03-01T08:20:01Z"},
               {"seq": 3, "node": "first", "outcome": "entered", "at": "2026-03-01T08:20:02Z"},
               {"seq": 4, "node": "first", "outcome": "succeeded", "at": "2026-03-01T08:20:02Z"},
               {"seq": 5, "node": "opened", "outcome": "entered", "at": "2026-03-01T08:20:02Z"},
               {"seq": 6, "node": "opened", "outcome": "succeeded", "at": "2026-03-01T09:02:40Z", "detail": "emailOpened on first"},
               {"seq": 7, "node": "purchase", "outcome": "entered", "at": "2026-03-01T09:02:41Z"}]}
            """;

        public const string SimulationRequest = """
            {"profiles": "audience", "limit": 10000, "horizon": "P91D", "seed": 1,
             "reactions": {"emailOpened": 0.3, "emailClicked": 0.1, "pushOpened": 0.2},
             "events": [{"at": "P2D", "profile": "*", "share": 0.5,
                         "payload": {"purchaseMessage": "thank you", "customerEmail": "ann@example.com", "productName": "Shoes"}}]}
            """;

        public const string SimulationResponse = """
            {"nodes": {
               "read": {"entered": 5473, "succeeded": 5473, "failed": 0, "timedOut": 0, "skipped": 0},
               "first": {"entered": 5473, "succeeded": 5473, "failed": 0, "timedOut": 0, "skipped": 0},
               "opened": {"entered": 5473, "succeeded": 1639, "failed": 0, "timedOut": 3834, "skipped": 0},
               "followUp": {"entered": 3834, "succeeded": 3834, "failed": 0, "timedOut": 0, "skipped": 0},
               "purchase": {"entered": 1639, "succeeded": 823, "failed": 0, "timedOut": 0, "skipped": 0},
               "thanks": {"entered": 823, "succeeded": 823, "failed": 0, "timedOut": 0, "skipped": 0}},
             "paths": [{"nodes": ["read", "first", "opened", "followUp"], "profiles": 3834},
                       {"nodes": ["read", "first", "opened", "purchase", "thanks"], "profiles": 823},
                       {"nodes": ["read", "first", "opened", "purchase"], "profiles": 816}],
             "messages": {"email": 9307, "push": 823, "webhook": 0},
             "byDay": [{"day": 0, "email": 5473, "push": 0}, {"day": 1, "email": 3834, "push": 0}, {"day": 2, "email": 0, "push": 823}],
             "waitingAtHorizon": 816, "profiles": 5473,
             "frequencyCaps": [{"rule": "frequency cap email 3 per P7D", "skipped": 0}],
             "sendWindows": []}
            """;
    }
}
