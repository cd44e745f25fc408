namespace JourneyWorker.Runtime.Store;

/// <summary>
/// The instance store's statements that are SQLite's own: id lists through json_each, INSERT OR IGNORE,
/// json_set. Values are in the shapes EF Core's SQLite provider stores them (Guid as upper-case text,
/// DateTime as text, due times as unix milliseconds), so EF reads the rows back.
/// </summary>
public sealed class SqliteInstanceSql : InstanceSql
{
    public override object Guid(Guid value) => Data.SqlValues.Guid(value);

    public override object Ids(IReadOnlyCollection<long> ids) => System.Text.Json.JsonSerializer.Serialize(ids);

    protected override string IdIn(string column) => $"\"{column}\" IN (SELECT value FROM json_each(@ids))";

    /// <summary>
    /// One atomic UPDATE stamps owner and lease expiry on due rows that no live lease holds. One ordered, limited seek of
    /// the (Status, DueAt) index per state, as on PostgreSQL: with both states in one IN list SQLite gathered every due
    /// row (reading each row's lease) into a temp b-tree and sorted it for each claim, so a claim's cost grew with the
    /// backlog, and a backlog once built fed itself (600,000 timers due over a minute among 10,000,000 waiting).
    /// </summary>
    public override string Claim => """
        UPDATE "JourneyInstances" SET "LeaseOwner" = @owner, "LeaseUntil" = @until
        WHERE "Id" IN (
            SELECT "Id" FROM (
                SELECT * FROM (
                    SELECT "Id", "DueAt" FROM "JourneyInstances"
                    WHERE "Status" = @active AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now)
                    ORDER BY "DueAt" LIMIT @limit)
                UNION ALL
                SELECT * FROM (
                    SELECT "Id", "DueAt" FROM "JourneyInstances"
                    WHERE "Status" = @waiting AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now)
                    ORDER BY "DueAt" LIMIT @limit))
            ORDER BY "DueAt"
            LIMIT @limit)
        RETURNING "Id"
        """;

    public override string BatchInstances => """
        SELECT "Id", "JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "LeaseOwner", "LeaseUntil",
               "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "EndedAt", "EndReason", "TraceParent"
        FROM "JourneyInstances" WHERE "Id" IN (SELECT value FROM json_each(@ids)) AND "LeaseOwner" = @owner
        ORDER BY "Id"
        """;

    public override string RenewLeases => """
        UPDATE "JourneyInstances" SET "LeaseUntil" = @until WHERE "Id" IN (SELECT value FROM json_each(@ids)) AND "LeaseOwner" = @owner
        RETURNING "Id"
        """;

    /// <summary>Profiles with their identities and push tokens: one round of three indexed lookups.</summary>
    public override string BatchProfiles => """
        SELECT "Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest" FROM "Profiles" WHERE "Id" IN (SELECT value FROM json_each(@ids));
        SELECT "Id", "ProfileId", "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" IN (SELECT value FROM json_each(@ids));
        SELECT "Id", "ProfileId", "Token", "Platform", "RetiredAt" FROM "PushTokens" WHERE "ProfileId" IN (SELECT value FROM json_each(@ids));
        """;

    /// <summary>No row locks in SQLite: the write transaction this runs in already holds the database's one write lock.</summary>
    public override string LockProfiles => """
        SELECT "Id", "Attributes" FROM "Profiles" WHERE "Id" IN (SELECT value FROM json_each(@ids))
        """;

    /// <summary>A link recorded by an earlier attempt of the message stays as it was: its token is already out there.</summary>
    public override string InsertLink => """
        INSERT OR IGNORE INTO "TrackedLinks" ("OutboxMessageId", "Index", "Url") VALUES (@outbox, @index, @url)
        """;

    /// <summary>Succeeds only if the instance still waits for exactly that and no live lease holds it: a race with its timeout is decided once.</summary>
    public override string Resume => """
        UPDATE "JourneyInstances"
        SET "Status" = @active, "NodeId" = @next, "DueAt" = @now, "WaitingFor" = NULL,
            "LeaseOwner" = NULL, "LeaseUntil" = NULL, "NextSeq" = "NextSeq" + 1, "TraceParent" = COALESCE(@traceParent, "TraceParent"),
            "Context" = CASE WHEN @eventName IS NULL THEN "Context"
                             ELSE json_set("Context", '$.events."' || @eventName || '"', json(@payload)) END
        WHERE "Id" = @id AND "Status" = @waiting AND "WaitingFor" = @waitingFor
          AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now) AND "DueAt" > @now
        RETURNING "NextSeq" - 1
        """;

    /// <summary>Instances of these profiles waiting for any event: the (ProfileId, WaitingFor) index once per profile.</summary>
    public override string WaitingForEvents => """
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "ProfileId" IN (SELECT value FROM json_each(@ids)) AND "Status" = @waiting AND "WaitingFor" LIKE @eventPrefix
        """;

    /// <summary>The first reaction of a kind counts; a repeat changes nothing (unique (message, kind)).</summary>
    public override string InsertReaction => """
        INSERT OR IGNORE INTO "MessageReactions" ("OutboxMessageId", "Kind", "At") VALUES (@id, @kind, @at)
        """;

    public override string Admit(string profiles, string condition, string returning) => AdmitText(profiles, condition, returning);

    private static string AdmitText(string profiles, string condition, string returning) => $"""
        INSERT OR IGNORE INTO "JourneyInstances"
            ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "TraceParent")
        SELECT @journey, @version, p."Id", @active, @node, @now, @context, @test, @firstSeq, @deadline, @entered, @traceParent
        FROM {profiles} p
        WHERE {condition}
          AND (@testOnly = 0 OR p."IsTest" = 1)
          AND NOT EXISTS (
              SELECT 1 FROM "JourneyInstances" i
              WHERE i."JourneyId" = @journey AND i."ProfileId" = p."Id"
                AND (i."Status" IN (@active, @waiting) OR @reentry = 0 OR i."EndedAt" > @cutoff))
        ORDER BY p."Id"
        RETURNING "{returning}"
        """;

    public override string AdmitProfiles { get; } = AdmitText("\"Profiles\"", "p.\"Id\" IN (SELECT value FROM json_each(@ids))", "Id");

    public override string Members(string membersSql) => $"""
        SELECT "Id", "IsTest" FROM "Profiles"
        WHERE "Id" > @after AND "Id" <= @upto AND ({membersSql}) AND (@testOnly = 0 OR "IsTest" = 1)
        ORDER BY "Id" LIMIT @limit
        """;

}
