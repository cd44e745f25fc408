namespace JourneyWorker.Runtime.Store;

/// <summary>
/// Every statement the instance store runs, in one place per provider (in the spirit of Quartz's
/// StdAdoConstants and its driver delegates): the statements here are plain SQL that SQLite and PostgreSQL
/// both run; <see cref="SqliteInstanceSql"/> and <see cref="PostgreSqlInstanceSql"/> hold the ones that differ
/// (claims, id lists, upserts, JSON). State names are never spelled in SQL: they are parameters bound from
/// <see cref="Data.InstanceStatus"/>, <see cref="Data.StepOutcome"/> and <c>JourneyStatus</c>. Parameter names use
/// '@', which both ADO.NET providers understand.
/// </summary>
public abstract partial class InstanceSql
{
    /// <summary>A Guid as the provider stores it (EF Core's SQLite provider: upper-case text; PostgreSQL: uuid).</summary>
    public abstract object Guid(Guid value);

    /// <summary>
    /// Sent inside a transaction that may have made work due now, delivered to every listening worker on commit
    /// (PostgreSQL NOTIFY); null where nothing listens (SQLite).
    /// </summary>
    public virtual string? NotifyDue => null;

    /// <summary>
    /// Whether the many small writes of a batch (the runner's rows, an intake batch's events) go to the database as one
    /// batch of statements (one round trip) rather than one statement at a time. Worth it where each statement is a
    /// network round trip (PostgreSQL); SQLite runs in process.
    /// </summary>
    public virtual bool BatchesStatements => false;

    /// <summary>A list of ids as one parameter (SQLite: a JSON array read with json_each; PostgreSQL: a bigint[]).</summary>
    public abstract object Ids(IReadOnlyCollection<long> ids);

    /// <summary>
    /// Takes the transaction-scoped locks that order a wait becoming visible against the event or reaction that would end
    /// it (@profiles, @instances: bigint lists; @profileClass, @instanceClass: lock classes), or null where one writer at a
    /// time already orders them (SQLite's write gate). See <see cref="StoreLocks"/>.
    /// </summary>
    public virtual string? LockWaits => null;

    /// <summary>
    /// <see cref="LockWaits"/> and <see cref="WaitingForEvents"/> for the profiles behind identities (@namespaces, @values:
    /// parallel text arrays) instead of profile ids, so that an intake batch sends them with its identity lookup in one
    /// round trip (<see cref="StoreTransaction.AddIdentityWaits"/>); null where statements are not batched.
    /// </summary>
    public virtual (string Lock, string Waiting)? IdentityWaits => null;

    /// <summary>
    /// A read before the claim, or null to claim straight away. On SQLite it spares an idle poll the write lock and its
    /// place in the write gate.
    /// </summary>
    public virtual string? AnyDue => """
        SELECT EXISTS (
            SELECT 1 FROM "JourneyInstances"
            WHERE "Status" IN (@active, @waiting) AND "DueAt" <= @now AND ("LeaseUntil" IS NULL OR "LeaseUntil" < @now))
        """;

    /// <summary>One atomic UPDATE stamps owner and lease expiry on due rows that no live lease holds.</summary>
    public abstract string Claim { get; }

    /// <summary>The earliest due time of any running instance: index seeks, one per status.</summary>
    public virtual string NextDue => """
        SELECT min("m") FROM (
            SELECT min("DueAt") AS "m" FROM "JourneyInstances" WHERE "Status" = @active
            UNION ALL
            SELECT min("DueAt") FROM "JourneyInstances" WHERE "Status" = @waiting) AS "due"
        """;

    public abstract string BatchInstances { get; }

    /// <summary>Moves the lease of the batch's claims in @ids that are still @owner's to @until; returns the ids it moved.</summary>
    public abstract string RenewLeases { get; }

    /// <summary>Profiles with their identities and push tokens: one round of three indexed lookups.</summary>
    public abstract string BatchProfiles { get; }

    /// <summary>Accepted only while the lease is still ours. The context is written only when the run changed it (@context not null).</summary>
    public virtual string UpdateInstance => """
        UPDATE "JourneyInstances"
        SET "Status" = @status, "NodeId" = @node, "DueAt" = @due, "WaitingFor" = @waiting, "NextSeq" = @seq,
            "EndedAt" = @ended, "EndReason" = @reason, "LeaseOwner" = @leaseOwner, "LeaseUntil" = @leaseUntil,
            "Context" = COALESCE(CAST(@context AS text), "Context")
        WHERE "Id" = @id AND "LeaseOwner" = @owner
        """;

    public virtual string InsertStep => """
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail") VALUES (@instance, @seq, @node, @outcome, @at, @detail)
        """;

    public virtual string InsertOutbox => """
        INSERT INTO "OutboxMessages" ("InstanceId", "ProfileId", "NodeId", "Channel", "Category", "MessageId", "Status", "Attempts", "Error", "CreatedAt", "SentAt")
        VALUES (@instance, @profile, @node, @channel, @category, @messageId, @status, @attempts, @error, @created, @sent)
        RETURNING "Id"
        """;

    /// <summary>
    /// Taken first in a checkpoint that is about to let marketing messages out, so that two checkpoints for the same
    /// profile count each other's sends (PostgreSQL: an advisory lock per profile, held to the commit); null where
    /// the writes of the database are one at a time anyway (SQLite: the write gate, and BEGIN IMMEDIATE across processes).
    /// </summary>
    public virtual string? LockCapProfiles => null;

    private readonly Dictionary<int, string> _capCounts = [];

    /// <summary>
    /// Per profile in @ids and channel, how many marketing messages count against each of <paramref name="rules"/> frequency
    /// rules: those let through after @since{k} (the rule's window before now) that were sent or are still pending (being
    /// sent right now, or waiting for a retry). A message counts from its checkpoint (CreatedAt), not from its delivery: the
    /// cap is decided when a message is let through, and CreatedAt never changes, so the (ProfileId, CreatedAt) index this
    /// seeks (over the longest window, @since) costs nothing when a message is marked sent.
    /// </summary>
    public string CapCounts(int rules)
    {
        lock (_capCounts)
        {
            if (!_capCounts.TryGetValue(rules, out var text))
            {
                var sums = string.Join(", ", Enumerable.Range(0, rules).Select(k => $"""sum(CASE WHEN "CreatedAt" > @since{k} THEN 1 ELSE 0 END)"""));
                text = $"""
                    SELECT "ProfileId", "Channel", {sums}
                    FROM "OutboxMessages"
                    WHERE {IdIn("ProfileId")} AND "CreatedAt" > @since AND "Status" IN (@sent, @pending) AND "Category" = @marketing
                    GROUP BY "ProfileId", "Channel"
                    """;
                _capCounts[rules] = text;
            }
            return text;
        }
    }

    /// <summary>The condition that <paramref name="column"/> is one of the ids of the @ids parameter (see <see cref="Ids"/>).</summary>
    protected abstract string IdIn(string column);

    public virtual string UpdateOutbox => """
        UPDATE "OutboxMessages" SET "Status" = @status, "Attempts" = @attempts, "Error" = @error, "SentAt" = @sent WHERE "Id" = @id
        """;

    /// <summary>A link recorded by an earlier attempt of the message stays as it was: its token is already out there.</summary>
    public abstract string InsertLink { get; }

    public virtual string RetireToken => """UPDATE "PushTokens" SET "RetiredAt" = @at WHERE "Id" = @id""";

    /// <summary>
    /// The attributes of the profiles in @ids, read to apply a batch's updateProfile writes on top of them; where the
    /// provider can, the rows are locked until the commit so that no other writer's change falls between read and write.
    /// </summary>
    public abstract string LockProfiles { get; }

    public virtual string UpdateProfileAttributes => """
        UPDATE "Profiles" SET "Attributes" = @attributes, "UpdatedAt" = @at WHERE "Id" = @id
        """;

    public virtual string ReactionExists => """
        SELECT EXISTS (
            SELECT 1 FROM "MessageReactions" r JOIN "OutboxMessages" m ON m."Id" = r."OutboxMessageId"
            WHERE m."InstanceId" = @instance AND m."NodeId" = @node AND r."Kind" = @kind)
        """;

    /// <summary>Succeeds only if the instance still waits for exactly that and no live lease holds it: a race with its timeout is decided once.</summary>
    public abstract string Resume { get; }

    /// <summary>Instances of these profiles waiting for any event: the (ProfileId, WaitingFor) index once per profile.</summary>
    public abstract string WaitingForEvents { get; }

    public virtual string WaitingFor => """
        SELECT "Id", "ProfileId", "WaitingFor", "JourneyVersionId", "NodeId" FROM "JourneyInstances"
        WHERE "Id" = @id AND "Status" = @waiting AND "WaitingFor" = @waitingFor
        """;

    public virtual string MessageOwner => """
        SELECT m."InstanceId", m."NodeId", i."ProfileId" FROM "OutboxMessages" m LEFT JOIN "JourneyInstances" i ON i."Id" = m."InstanceId"
        WHERE m."Id" = @id
        """;

    /// <summary>The first reaction of a kind counts; a repeat changes nothing (unique (message, kind)).</summary>
    public abstract string InsertReaction { get; }

    public virtual string TrackedLink => """
        SELECT "Url" FROM "TrackedLinks" WHERE "OutboxMessageId" = @id AND "Index" = @index
        """;

    /// <summary>Every instance of a profile, running or ended: what exit and goal criteria look at.</summary>
    public virtual string InstancesOfProfile => """
        SELECT "Id", "JourneyVersionId", "Status", "EnteredAt" FROM "JourneyInstances" WHERE "ProfileId" = @profile
        """;

    /// <summary>Why a running instance ends, in its history (at its next seq); nothing if it no longer runs. Returns the step's node.</summary>
    public virtual string ExitInstanceStep { get; } = ExitStepsWhere("\"Id\" = @id");

    /// <summary>
    /// Ends a running instance wherever it is; a runner holding it finds its lease gone and writes nothing. Where
    /// <see cref="ExitInstanceCounts"/> is null it returns, per instance ended, its node, the status it had, and 1.
    /// </summary>
    public virtual string ExitInstance { get; } = ExitWhere("\"Id\" = @id");

    /// <summary>
    /// Read just before <see cref="ExitInstance"/>: what it is about to end, by node and status, with how many (the report's
    /// counters move them). SQLite's RETURNING cannot name the status a row had; its one writer at a time keeps this read
    /// true until the update. Null where the exit itself returns them.
    /// </summary>
    public virtual string? ExitInstanceCounts { get; } = RunningWhere("\"Id\" = @id");

    /// <summary>
    /// The instance's conversion, once (the key is the instance), attributed to the last message it was sent, with the
    /// journey and version for the report.
    /// </summary>
    public virtual string InsertConversion => """
        INSERT INTO "Conversions" ("InstanceId", "JourneyId", "JourneyVersionId", "NodeId", "At")
        SELECT i."Id", i."JourneyId", i."JourneyVersionId",
               (SELECT m."NodeId" FROM "OutboxMessages" m WHERE m."InstanceId" = i."Id" AND m."Status" = @sent
                ORDER BY m."SentAt" DESC, m."Id" DESC LIMIT 1),
               @at
        FROM "JourneyInstances" i WHERE i."Id" = @id
        ON CONFLICT DO NOTHING
        RETURNING "JourneyVersionId", "NodeId"
        """;

    /// <summary>Why each running instance of a version ends, in its history (at its next seq).</summary>
    public virtual string ExitSteps { get; } = ExitStepsWhere("\"JourneyVersionId\" = @version");

    public virtual string ExitInstances { get; } = ExitWhere("\"JourneyVersionId\" = @version");

    /// <summary>
    /// Taken first in an exit, where several writers run at once: the running rows it is about to end, locked, so that a
    /// runner committing one of them meanwhile is waited for and its steps seen (else the exited step took the seq the
    /// runner's step had). Null where writes are one at a time (SQLite).
    /// </summary>
    public virtual string? LockExitInstance => null;

    /// <summary>See <see cref="LockExitInstance"/>.</summary>
    public virtual string? LockExitInstances => null;

    /// <summary>See <see cref="ExitInstanceCounts"/>.</summary>
    public virtual string? ExitInstancesCounts { get; } = RunningWhere("\"JourneyVersionId\" = @version");

    /// <summary>The exited step of each running instance that <paramref name="key"/> selects: one statement for one instance or a whole version.</summary>
    private static string ExitStepsWhere(string key) => $"""
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail")
        SELECT "Id", "NextSeq", COALESCE("NodeId", '-'), @outcome, @at, @detail
        FROM "JourneyInstances" WHERE {key} AND "Status" IN (@active, @waiting)
        RETURNING "NodeId"
        """;

    /// <summary>Ends each running instance that <paramref name="key"/> selects (status exited, why, when).</summary>
    private static string ExitWhere(string key) => $"""
        UPDATE "JourneyInstances"
        SET "Status" = @exited, "EndReason" = @reason, "EndedAt" = @at, "DueAt" = NULL, "WaitingFor" = NULL, "LeaseOwner" = NULL,
            "NextSeq" = "NextSeq" + 1
        WHERE {key} AND "Status" IN (@active, @waiting)
        """;

    /// <summary>The running instances that <paramref name="key"/> selects, by node and status.</summary>
    private static string RunningWhere(string key) => $"""
        SELECT "NodeId", "Status", count(*) FROM "JourneyInstances" WHERE {key} AND "Status" IN (@active, @waiting)
        GROUP BY "NodeId", "Status"
        """;


    /// <summary>
    /// A closed version whose last instance has ended is finished. UpdatedAt moves forward with the change (it keys
    /// the compiled versions the engine caches; a finished version runs nothing, so a same-tick stamp is harmless).
    /// The look for running instances names the outer row: only a closed version pays for it (PostgreSQL ran an
    /// uncorrelated NOT EXISTS once per statement, whatever the version's state: 2-5 ms per runner write at 250,000 instances).
    /// </summary>
    public virtual string FinishVersion => """
        UPDATE "JourneyVersions" SET "Status" = @finished, "UpdatedAt" = CASE WHEN @at > "UpdatedAt" THEN @at ELSE "UpdatedAt" END
        WHERE "Id" = @version AND "Status" = @closed
          AND NOT EXISTS (SELECT 1 FROM "JourneyInstances" i WHERE i."JourneyVersionId" = "JourneyVersions"."Id" AND i."Status" IN (@active, @waiting))
        """;

    public virtual string AnyRunning => """
        SELECT EXISTS (SELECT 1 FROM "JourneyInstances" WHERE "JourneyVersionId" = @version AND "Status" IN (@active, @waiting))
        """;

    /// <summary>Instances whose lease has not expired: a worker may still be running on the database (migrate-data warns).</summary>
    public virtual string LiveLeases => """
        SELECT count(*) FROM "JourneyInstances" WHERE "LeaseUntil" > @now
        """;

    /// <summary>
    /// New instances for the profiles (p) of <paramref name="profiles"/> that pass <paramref name="condition"/>, skipping
    /// profiles already running in the journey (any version) or refused by its re-entrance rules.
    /// </summary>
    public abstract string Admit(string profiles, string condition, string returning);

    /// <summary>
    /// <see cref="Admit"/> without its skip of a profile another transaction admitted meanwhile (PostgreSQL's ON CONFLICT,
    /// a speculative insertion per row), or null. Such a profile fails it with a unique violation: the caller runs it under
    /// a savepoint and runs <see cref="Admit"/> when that happens.
    /// </summary>
    public virtual string? AdmitUnguarded(string profiles, string condition, string returning) => null;

    /// <summary>
    /// Sent first in a transaction that admits audience members, or null: a setting for the rest of the transaction only
    /// (PostgreSQL: no JIT compilation, see <see cref="PostgreSqlInstanceSql.ChunkSettings"/>).
    /// </summary>
    public virtual string? ChunkSettings => null;

    /// <summary>Admits the profiles whose ids are in @ids.</summary>
    public abstract string AdmitProfiles { get; }

    /// <summary>The audience's next members after @after and up to @upto (test profiles only in test mode); the fragment's values are @p0…</summary>
    public abstract string Members(string membersSql);

    /// <summary>How many members a page of <see cref="Members"/> holds, and the last one.</summary>
    public string CountMembers(string membersSql) => $"""SELECT count(*), max("Id") FROM ({Members(membersSql)}) AS "page" """;
}
