
namespace JourneyWorker.Runtime.Store;

/// <summary>
/// Every statement the instance store runs on SQLite, in one place (in the spirit of Quartz's
/// StdAdoConstants). State names are never spelled here: they are parameters bound from
/// <see cref="Data.InstanceStatus"/>, <see cref="Data.StepOutcome"/> and <c>JourneyStatus</c>. Values are in the
/// shapes EF Core's SQLite provider stores them (Guid as upper-case text, DateTime as text, due times as
/// unix milliseconds), so EF reads the rows back. Parameter names use '@', which every ADO.NET provider
/// of this project understands.
/// </summary>
public static class SqliteInstanceSql
{
    // ---- Claims (the poller) ----

    /// <summary>A read first: an idle poll then takes no write lock and no place in the write gate.</summary>
    public const string AnyDue = """
        SELECT EXISTS (
            SELECT 1 FROM "JourneyInstances"
            WHERE "Status" IN (@active, @waiting) AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now))
        """;

    /// <summary>One atomic UPDATE stamps owner and lease expiry on due rows that no live lease holds.</summary>
    public const string Claim = """
        UPDATE "JourneyInstances" SET "LeaseOwner" = @owner, "LeaseUntil" = @until
        WHERE "Id" IN (
            SELECT "Id" FROM "JourneyInstances"
            WHERE "Status" IN (@active, @waiting) AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now)
            ORDER BY "DueAt"
            LIMIT @limit)
        RETURNING "Id"
        """;

    /// <summary>The earliest due time of any running instance: index seeks, one per status.</summary>
    public const string NextDue = """
        SELECT min("m") FROM (
            SELECT min("DueAt") AS "m" FROM "JourneyInstances" WHERE "Status" = @active
            UNION ALL
            SELECT min("DueAt") FROM "JourneyInstances" WHERE "Status" = @waiting)
        """;

    // ---- Batch reads (the runner) ----

    public const string BatchInstances = """
        SELECT "Id", "JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "LeaseOwner", "LeaseUntil",
               "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "EndedAt", "EndReason"
        FROM "JourneyInstances" WHERE "Id" IN (SELECT value FROM json_each(@ids)) AND "LeaseOwner" = @owner
        ORDER BY "Id"
        """;

    /// <summary>Profiles with their identities and push tokens: one round of three indexed lookups.</summary>
    public const string BatchProfiles = """
        SELECT "Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest" FROM "Profiles" WHERE "Id" IN (SELECT value FROM json_each(@ids));
        SELECT "Id", "ProfileId", "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" IN (SELECT value FROM json_each(@ids));
        SELECT "Id", "ProfileId", "Token", "Platform", "RetiredAt" FROM "PushTokens" WHERE "ProfileId" IN (SELECT value FROM json_each(@ids));
        """;

    // ---- Batch writes (the runner's checkpoints and final commit) ----

    /// <summary>Accepted only while the lease is still ours.</summary>
    public const string UpdateInstance = """
        UPDATE "JourneyInstances"
        SET "Status" = @status, "NodeId" = @node, "DueAt" = @due, "WaitingFor" = @waiting, "NextSeq" = @seq,
            "EndedAt" = @ended, "EndReason" = @reason, "LeaseOwner" = @leaseOwner, "LeaseUntil" = @leaseUntil
        WHERE "Id" = @id AND "LeaseOwner" = @owner
        """;

    public const string InsertStep = """
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail") VALUES (@instance, @seq, @node, @outcome, @at, @detail)
        """;

    public const string InsertOutbox = """
        INSERT INTO "OutboxMessages" ("InstanceId", "NodeId", "Channel", "MessageId", "Status", "Attempts", "Error", "CreatedAt", "SentAt")
        VALUES (@instance, @node, @channel, @messageId, @status, @attempts, @error, @created, @sent)
        RETURNING "Id"
        """;

    public const string UpdateOutbox = """
        UPDATE "OutboxMessages" SET "Status" = @status, "Attempts" = @attempts, "Error" = @error, "SentAt" = @sent WHERE "Id" = @id
        """;

    /// <summary>A link recorded by an earlier attempt of the message stays as it was: its token is already out there.</summary>
    public const string InsertLink = """
        INSERT OR IGNORE INTO "TrackedLinks" ("OutboxMessageId", "Index", "Url") VALUES (@outbox, @index, @url)
        """;

    public const string RetireToken = """UPDATE "PushTokens" SET "RetiredAt" = @at WHERE "Id" = @id""";

    public const string ReactionExists = """
        SELECT EXISTS (
            SELECT 1 FROM "MessageReactions" r JOIN "OutboxMessages" m ON m."Id" = r."OutboxMessageId"
            WHERE m."InstanceId" = @instance AND m."NodeId" = @node AND r."Kind" = @kind)
        """;

    // ---- Resumes (events and reactions) ----

    /// <summary>Succeeds only if the instance still waits for exactly that and no live lease holds it: a race with its timeout is decided once.</summary>
    public const string Resume = """
        UPDATE "JourneyInstances"
        SET "Status" = @active, "NodeId" = @next, "DueAt" = @now, "WaitingFor" = NULL,
            "LeaseOwner" = NULL, "LeaseUntil" = NULL, "NextSeq" = "NextSeq" + 1,
            "Context" = CASE WHEN @eventName IS NULL THEN "Context"
                             ELSE json_set("Context", '$.events."' || @eventName || '"', json(@payload)) END
        WHERE "Id" = @id AND "Status" = @waiting AND "WaitingFor" = @waitingFor
          AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now) AND "DueAt" > @now
        RETURNING "NextSeq" - 1
        """;

    /// <summary>Instances of these profiles waiting for any event: the (ProfileId, WaitingFor) index once per profile.</summary>
    public const string WaitingForEvents = """
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "ProfileId" IN (SELECT value FROM json_each(@ids)) AND "Status" = @waiting AND "WaitingFor" LIKE @eventPrefix
        """;

    public const string WaitingFor = """
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "Id" = @id AND "Status" = @waiting AND "WaitingFor" = @waitingFor
        """;

    // ---- Reactions ----

    public const string MessageOwner = """
        SELECT m."InstanceId", m."NodeId", i."ProfileId" FROM "OutboxMessages" m LEFT JOIN "JourneyInstances" i ON i."Id" = m."InstanceId"
        WHERE m."Id" = @id
        """;

    /// <summary>The first reaction of a kind counts; a repeat changes nothing (unique (message, kind)).</summary>
    public const string InsertReaction = """
        INSERT OR IGNORE INTO "MessageReactions" ("OutboxMessageId", "Kind", "At") VALUES (@id, @kind, @at)
        """;

    public const string TrackedLink = """
        SELECT "Url" FROM "TrackedLinks" WHERE "OutboxMessageId" = @id AND "Index" = @index
        """;

    // ---- Admission ----

    /// <summary>
    /// New instances for the profiles (p) of <paramref name="profiles"/> that pass <paramref name="condition"/>, skipping
    /// profiles already running in the journey (any version) or refused by its re-entrance rules.
    /// </summary>
    public static string Admit(string profiles, string condition, string returning) => $"""
        INSERT OR IGNORE INTO "JourneyInstances"
            ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt")
        SELECT @journey, @version, p."Id", @active, @node, @now, @context, @test, @firstSeq, @deadline, @entered
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

    public static readonly string AdmitProfiles = Admit("\"Profiles\"", "p.\"Id\" IN (SELECT value FROM json_each(@ids))", "Id");

    /// <summary>The audience's next members after @after (test profiles only in test mode); the fragment's values are @p0…</summary>
    public static string Members(string membersSql) => $"""
        SELECT "Id", "IsTest" FROM "Profiles"
        WHERE "Id" > @after AND ({membersSql}) AND (@testOnly = 0 OR "IsTest" = 1)
        ORDER BY "Id" LIMIT @limit
        """;

    public static string CountMembers(string membersSql) => $"""SELECT count(*), max("Id") FROM ({Members(membersSql)})""";

    // ---- Lifecycle ----

    /// <summary>Why each running instance of a version ends, in its history (at its next seq).</summary>
    public const string ExitSteps = """
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail")
        SELECT "Id", "NextSeq", COALESCE("NodeId", '-'), @outcome, @at, @detail
        FROM "JourneyInstances" WHERE "JourneyVersionId" = @version AND "Status" IN (@active, @waiting)
        """;

    public const string ExitInstances = """
        UPDATE "JourneyInstances"
        SET "Status" = @exited, "EndReason" = @reason, "EndedAt" = @at, "DueAt" = NULL, "WaitingFor" = NULL, "LeaseOwner" = NULL,
            "NextSeq" = "NextSeq" + 1
        WHERE "JourneyVersionId" = @version AND "Status" IN (@active, @waiting)
        """;

    /// <summary>
    /// A closed version whose last instance has ended is finished. UpdatedAt moves forward with the change (it keys
    /// the compiled versions the engine caches; a finished version runs nothing, so a same-tick stamp is harmless).
    /// </summary>
    public const string FinishVersion = """
        UPDATE "JourneyVersions" SET "Status" = @finished, "UpdatedAt" = CASE WHEN @at > "UpdatedAt" THEN @at ELSE "UpdatedAt" END
        WHERE "Id" = @version AND "Status" = @closed
          AND NOT EXISTS (SELECT 1 FROM "JourneyInstances" WHERE "JourneyVersionId" = @version AND "Status" IN (@active, @waiting))
        """;

    public const string AnyRunning = """
        SELECT EXISTS (SELECT 1 FROM "JourneyInstances" WHERE "JourneyVersionId" = @version AND "Status" IN (@active, @waiting))
        """;
}
