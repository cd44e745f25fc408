namespace JourneyWorker.Runtime.Store;

/// <summary>
/// The runner's writes as one statement per kind of row over unnest(arrays): a write of 64 messages checkpointed and 64
/// completed was ~450 statements (each parsed, planned and executed on its own by the server), it is now a handful
/// whatever the batch's size. The casts name each array's type, so an array that holds only NULLs still has one.
/// </summary>
public sealed partial class PostgreSqlInstanceSql
{
    public override string UpdateInstances => """
        UPDATE "JourneyInstances" AS i
        SET "Status" = u."Status", "NodeId" = u."NodeId", "DueAt" = u."DueAt", "WaitingFor" = u."WaitingFor", "NextSeq" = u."NextSeq",
            "EndedAt" = u."EndedAt", "EndReason" = u."EndReason", "LeaseOwner" = u."LeaseOwner", "LeaseUntil" = u."LeaseUntil",
            "Context" = COALESCE(u."Context", i."Context")
        FROM unnest(CAST(@ids AS bigint[]), CAST(@statuses AS text[]), CAST(@nodes AS text[]), CAST(@dues AS bigint[]),
                    CAST(@waitings AS text[]), CAST(@seqs AS integer[]), CAST(@endeds AS timestamp with time zone[]),
                    CAST(@reasons AS text[]), CAST(@leaseOwners AS text[]), CAST(@leaseUntils AS bigint[]), CAST(@contexts AS text[]))
            AS u("Id", "Status", "NodeId", "DueAt", "WaitingFor", "NextSeq", "EndedAt", "EndReason", "LeaseOwner", "LeaseUntil", "Context")
        WHERE i."Id" = u."Id" AND i."LeaseOwner" = @owner
        RETURNING i."Id"
        """;

    public override string InsertSteps => """
        INSERT INTO "InstanceSteps" ("InstanceId", "Seq", "NodeId", "Outcome", "At", "Detail")
        SELECT * FROM unnest(CAST(@instances AS bigint[]), CAST(@seqs AS integer[]), CAST(@nodes AS text[]), CAST(@outcomes AS text[]),
                             CAST(@ats AS timestamp with time zone[]), CAST(@details AS text[]))
        """;

    public override string UpdateOutboxes => """
        UPDATE "OutboxMessages" AS o
        SET "Status" = u."Status", "Attempts" = u."Attempts", "Error" = u."Error", "SentAt" = u."SentAt"
        FROM unnest(CAST(@ids AS bigint[]), CAST(@statuses AS text[]), CAST(@attempts AS integer[]), CAST(@errors AS text[]),
                    CAST(@sents AS timestamp with time zone[]))
            AS u("Id", "Status", "Attempts", "Error", "SentAt")
        WHERE o."Id" = u."Id"
        """;

    public override string InsertOutboxes => """
        INSERT INTO "OutboxMessages" ("InstanceId", "ProfileId", "NodeId", "Channel", "Category", "MessageId", "Status", "Attempts", "Error", "CreatedAt", "SentAt")
        SELECT * FROM unnest(CAST(@instances AS bigint[]), CAST(@profiles AS bigint[]), CAST(@nodes AS text[]), CAST(@channels AS text[]),
                             CAST(@categories AS text[]), CAST(@messageIds AS text[]), CAST(@statuses AS text[]), CAST(@attempts AS integer[]),
                             CAST(@errors AS text[]), CAST(@created AS timestamp with time zone[]), CAST(@sents AS timestamp with time zone[]))
        RETURNING "Id", "MessageId"
        """;

    public override string InsertLinks => """
        INSERT INTO "TrackedLinks" ("OutboxMessageId", "Index", "Url")
        SELECT * FROM unnest(CAST(@outboxes AS bigint[]), CAST(@indexes AS integer[]), CAST(@urls AS text[]))
        ON CONFLICT DO NOTHING
        """;
}
