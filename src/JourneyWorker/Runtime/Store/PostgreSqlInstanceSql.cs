namespace JourneyWorker.Runtime.Store;

/// <summary>
/// The instance store's statements that are PostgreSQL's own: claims that skip rows another worker holds
/// (FOR UPDATE SKIP LOCKED), id lists as bigint[] (= ANY), ON CONFLICT DO NOTHING, jsonb for the instance
/// context. A parameter that may be NULL where PostgreSQL cannot infer its type is cast.
/// </summary>
public sealed partial class PostgreSqlInstanceSql : InstanceSql
{
    /// <summary>The channel every worker LISTENs on for work made due by another.</summary>
    public const string DueChannel = "journeyworker_due";

    /// <summary>How many counter rows per node the workers spread over (<see cref="InstanceSql.CounterShard"/>).</summary>
    public const int CounterShards = 16;

    /// <summary>A stable small hash of the worker id (string.GetHashCode changes from process to process).</summary>
    public static int ShardOf(string workerId)
    {
        var hash = 2166136261u;
        foreach (var c in workerId)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return (int)(hash % CounterShards);
    }

    public override string NotifyDue => $"SELECT pg_notify('{DueChannel}', '')";

    public override object Guid(Guid value) => value;

    /// <summary>Each statement is a round trip to the server: a batch's rows go as one batch of statements.</summary>
    public override bool BatchesStatements => true;

    public override object Ids(IReadOnlyCollection<long> ids) => ids as long[] ?? [.. ids];

    protected override string IdIn(string column) => $"\"{column}\" = ANY(@ids)";

    /// <summary>The first key of the profile locks: the pair (this, profile) is the lock, apart from any other advisory lock.</summary>
    public const int ProfileLockClass = 0x4A57_4643;

    /// <summary>
    /// Transaction-level advisory locks on the profiles in @ids, taken in the order given (the caller sorts them by
    /// their key, so two checkpoints never wait for each other in a circle); the key is the id's low 31 bits, and two
    /// profiles sharing one only take turns.
    /// </summary>
    public override string? LockCapProfiles => $"""
        SELECT pg_advisory_xact_lock({ProfileLockClass}, CAST("p" & 2147483647 AS integer)) FROM unnest(@ids) AS "p"
        """;

    /// <summary>
    /// No probe: the claim itself is a read while nothing is due (its seeks find no row and it updates nothing), and
    /// PostgreSQL has no write lock for a probe to spare. Planned as a sequential scan expecting an early match, the
    /// probe met thousands of finished rows first: ~20 ms per poll at 1,000,000 instances.
    /// </summary>
    public override string? AnyDue => null;

    /// <summary>
    /// Advisory transaction locks, distinct (class, key) pairs taken in one order everywhere (class, then key), so that two
    /// transactions taking several never deadlock on them. A bigint id is folded into the int4 key: two ids sharing a key
    /// only take turns.
    /// </summary>
    public override string LockWaits => """
        SELECT count(pg_advisory_xact_lock("k"."c", "k"."k")) FROM (
            SELECT DISTINCT @profileClass AS "c", CAST("p" % 2147483647 AS integer) AS "k" FROM unnest(CAST(@profiles AS bigint[])) AS "p"
            UNION
            SELECT DISTINCT @instanceClass, CAST("i" % 2147483647 AS integer) FROM unnest(CAST(@instances AS bigint[])) AS "i"
            ORDER BY 1, 2) AS "k"
        """;

    /// <summary>
    /// Rows another worker is claiming right now are skipped, not waited for: N workers claim disjoint batches. One
    /// ordered, limited seek of the (Status, DueAt) index per state: with both states in one IN list PostgreSQL cannot
    /// read that index in due order, so it fetched and sorted every due row for each claim (a backlog of 250,000 due
    /// e-mails: 50-65 ms a claim). Up to twice the limit is locked for the length of the claim; the surplus stays unclaimed.
    /// </summary>
    public override string Claim => """
        WITH "activeDue" AS (
            SELECT "Id", "DueAt" FROM "JourneyInstances"
            WHERE "Status" = @active AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now)
            ORDER BY "DueAt" LIMIT @limit
            FOR UPDATE SKIP LOCKED),
        "waitingDue" AS (
            SELECT "Id", "DueAt" FROM "JourneyInstances"
            WHERE "Status" = @waiting AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now)
            ORDER BY "DueAt" LIMIT @limit
            FOR UPDATE SKIP LOCKED)
        UPDATE "JourneyInstances" SET "LeaseOwner" = @owner, "LeaseUntil" = @until
        WHERE "Id" IN (
            SELECT "Id" FROM (SELECT "Id", "DueAt" FROM "activeDue" UNION ALL SELECT "Id", "DueAt" FROM "waitingDue") AS "due"
            ORDER BY "DueAt" LIMIT @limit)
        RETURNING "Id"
        """;

    public override string BatchInstances => """
        SELECT "Id", "JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "WaitingFor", "LeaseOwner", "LeaseUntil",
               "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "EndedAt", "EndReason", "TraceParent"
        FROM "JourneyInstances" WHERE "Id" = ANY(@ids) AND "LeaseOwner" = @owner
        ORDER BY "Id"
        """;

    public override string RenewLeases => """
        UPDATE "JourneyInstances" SET "LeaseUntil" = @until WHERE "Id" = ANY(@ids) AND "LeaseOwner" = @owner
        RETURNING "Id"
        """;

    /// <summary>Profiles with their identities and push tokens: one round trip of three indexed lookups.</summary>
    public override string BatchProfiles => """
        SELECT "Id", "Attributes", "ConsentEmail", "ConsentPush", "IsTest" FROM "Profiles" WHERE "Id" = ANY(@ids);
        SELECT "Id", "ProfileId", "Namespace", "Value" FROM "ProfileIdentities" WHERE "ProfileId" = ANY(@ids);
        SELECT "Id", "ProfileId", "Token", "Platform", "RetiredAt" FROM "PushTokens" WHERE "ProfileId" = ANY(@ids);
        """;

    /// <summary>Locked in id order, so two workers updating the same profiles wait for each other instead of deadlocking.</summary>
    public override string LockProfiles => """
        SELECT "Id", "Attributes" FROM "Profiles" WHERE "Id" = ANY(@ids) ORDER BY "Id" FOR UPDATE
        """;

    /// <summary>A link recorded by an earlier attempt of the message stays as it was: its token is already out there.</summary>
    public override string InsertLink => """
        INSERT INTO "TrackedLinks" ("OutboxMessageId", "Index", "Url") VALUES (@outbox, @index, @url) ON CONFLICT DO NOTHING
        """;

    /// <summary>
    /// Succeeds only if the instance still waits for exactly that and no live lease holds it: a race with its timeout
    /// is decided once. The event's payload is kept as events.&lt;name&gt; (the events object made when missing).
    /// </summary>
    public override string Resume => """
        UPDATE "JourneyInstances"
        SET "Status" = @active, "NodeId" = @next, "DueAt" = @now, "WaitingFor" = NULL,
            "LeaseOwner" = NULL, "LeaseUntil" = NULL, "NextSeq" = "NextSeq" + 1,
            "TraceParent" = COALESCE(CAST(@traceParent AS text), "TraceParent"),
            "Context" = CASE WHEN CAST(@eventName AS text) IS NULL THEN "Context"
                             ELSE jsonb_set(
                                 jsonb_set(CAST("Context" AS jsonb), '{events}', COALESCE(CAST("Context" AS jsonb) -> 'events', '{}'::jsonb)),
                                 ARRAY['events', CAST(@eventName AS text)], CAST(CAST(@payload AS text) AS jsonb))::text END
        WHERE "Id" = @id AND "Status" = @waiting AND "WaitingFor" = @waitingFor
          AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now) AND "DueAt" > @now
        RETURNING "NextSeq" - 1
        """;

    /// <summary>
    /// The identities' profiles are looked up once (the ARRAY sub-select runs before the scan), so the waits are read by the
    /// same per-profile index seek as <see cref="WaitingForEvents"/>; the locks in the order of <see cref="LockWaits"/>.
    /// </summary>
    public override (string Lock, string Waiting)? IdentityWaits => (
        $"""
        SELECT count(pg_advisory_xact_lock(@profileClass, "k"."k")) FROM (
            SELECT DISTINCT CAST(i."ProfileId" % 2147483647 AS integer) AS "k" FROM {Identities} ORDER BY 1) AS "k"
        """,
        $"""
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "ProfileId" = ANY(ARRAY(SELECT i."ProfileId" FROM {Identities})) AND "Status" = @waiting AND "WaitingFor" LIKE @eventPrefix
        """);

    private const string Identities = """
        unnest(CAST(@namespaces AS text[]), CAST(@values AS text[])) AS n("Namespace", "Value")
        JOIN "ProfileIdentities" i ON i."Namespace" = n."Namespace" AND i."Value" = n."Value"
        """;

    /// <summary>Instances of these profiles waiting for any event: the (ProfileId, WaitingFor) index once per profile.</summary>
    public override string WaitingForEvents => """
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "ProfileId" = ANY(@ids) AND "Status" = @waiting AND "WaitingFor" LIKE @eventPrefix
        """;

    /// <summary>The first reaction of a kind counts; a repeat changes nothing (unique (message, kind)).</summary>
    public override string InsertReaction => """
        INSERT INTO "MessageReactions" ("OutboxMessageId", "Kind", "At") VALUES (@id, @kind, @at) ON CONFLICT DO NOTHING
        """;

    public override string Admit(string profiles, string condition, string returning) => AdmitText(profiles, condition, returning, guarded: true);

    /// <summary>
    /// ON CONFLICT DO NOTHING makes every row a speculative insertion (a check of the unique indexes before the insert, a
    /// confirmation after it): ~1.7 µs of the server's ~12 µs per profile Read Audience admits.
    /// </summary>
    public override string AdmitUnguarded(string profiles, string condition, string returning) => AdmitText(profiles, condition, returning, guarded: false);

    /// <summary>
    /// No JIT for a chunk of Read Audience. Its estimated cost (the rule over the profiles read, the insert) passes
    /// jit_above_cost, and LLVM then compiled and optimized the rule's expressions for every chunk: in the full-size bench
    /// 6 s of JIT over 126 chunks of 2,000 (pg_stat_statements' jit_* columns), more than the rest of the statement, to run
    /// each compiled expression on a few thousand rows. SET LOCAL: the setting ends with the chunk's transaction.
    /// </summary>
    public override string? ChunkSettings => "SET LOCAL jit = off";

    /// <summary>
    /// The re-entrance check is a LATERAL look-up with LIMIT 1 rather than NOT EXISTS: PostgreSQL may turn NOT EXISTS into
    /// an anti join that reads and sorts every instance of the journey for each chunk (a merge anti join while the new
    /// instances have no statistics yet), which makes Read Audience quadratic in the audience (42 µs per admitted profile
    /// at 250,000); the LATERAL form can only be a seek of the (ProfileId, WaitingFor) index per profile of the chunk.
    /// A profile that starts running meanwhile (admitted by a transaction that commits after this statement began) is
    /// skipped by ON CONFLICT (the unique index of running instances); the unguarded form fails on it instead.
    /// </summary>
    private static string AdmitText(string profiles, string condition, string returning, bool guarded) => $"""
        INSERT INTO "JourneyInstances"
            ("JourneyId", "JourneyVersionId", "ProfileId", "Status", "NodeId", "DueAt", "Context", "IsTest", "NextSeq", "DeadlineAt", "EnteredAt", "TraceParent")
        SELECT @journey, @version, p."Id", @active, CAST(@node AS text), @now, @context, @test, @firstSeq, @deadline, @entered, CAST(@traceParent AS text)
        FROM {profiles} p
        LEFT JOIN LATERAL (
            SELECT 1 AS "refused" FROM "JourneyInstances" i
            WHERE i."JourneyId" = @journey AND i."ProfileId" = p."Id"
              AND (i."Status" IN (@active, @waiting) OR NOT @reentry OR i."EndedAt" > @cutoff)
            LIMIT 1) r ON true
        WHERE {condition}
          AND (NOT @testOnly OR p."IsTest")
          AND r."refused" IS NULL
        ORDER BY p."Id"
        {(guarded ? "ON CONFLICT DO NOTHING" : "")}
        RETURNING "{returning}"
        """;

    public override string AdmitProfiles { get; } = AdmitText("\"Profiles\"", "p.\"Id\" = ANY(@ids)", "Id", guarded: true);

    public override string ExitInstance { get; } = ExitReturning("\"Id\" = @id");

    public override string ExitInstances { get; } = ExitReturning("\"JourneyVersionId\" = @version");

    public override string? LockExitInstance { get; } = LockRunning("\"Id\" = @id");

    public override string? LockExitInstances { get; } = LockRunning("\"JourneyVersionId\" = @version");

    private static string LockRunning(string key) => $"""
        SELECT count(*) FROM (SELECT 1 FROM "JourneyInstances" WHERE {key} AND "Status" IN (@active, @waiting) FOR UPDATE) AS "l"
        """;

    public override string? ExitInstanceCounts => null;

    public override string? ExitInstancesCounts => null;

    /// <summary>
    /// The exit that returns what it ended (node, the status it had, 1), for the report's counters: the rows are locked
    /// first, so the status returned is the one this update replaced even when a runner wrote the row meanwhile.
    /// </summary>
    private static string ExitReturning(string key) => $"""
        UPDATE "JourneyInstances" AS "i"
        SET "Status" = @exited, "EndReason" = @reason, "EndedAt" = @at, "DueAt" = NULL, "WaitingFor" = NULL, "LeaseOwner" = NULL,
            "NextSeq" = "i"."NextSeq" + 1
        FROM (SELECT "Id", "Status" AS "Was" FROM "JourneyInstances" WHERE {key} AND "Status" IN (@active, @waiting) FOR UPDATE) AS "o"
        WHERE "i"."Id" = "o"."Id" AND "i"."Status" IN (@active, @waiting)
        RETURNING "i"."NodeId", "o"."Was", 1
        """;

    public override string Members(string membersSql) => $"""
        SELECT "Id", "IsTest" FROM "Profiles"
        WHERE "Id" > @after AND "Id" <= @upto AND ({membersSql}) AND (NOT @testOnly OR "IsTest")
        ORDER BY "Id" LIMIT @limit
        """;
}
