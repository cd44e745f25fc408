namespace JourneyWorker.Events;

/// <summary>
/// Every statement of event intake, one set per provider. The statements that both SQLite and PostgreSQL run are
/// here; the subclasses hold the ones that differ (the idempotent insert, the cache stamps). Idempotency is the
/// unique index on the key: the insert of a duplicate does nothing, and the first answer is read back.
/// </summary>
public abstract class EventSql
{
    /// <summary>Stores an event unless its idempotency key is taken.</summary>
    public abstract string Insert { get; }

    /// <summary>The configurations' stamp (row count and latest update) as text: the cache reloads when it moves.</summary>
    public abstract string ConfigStamp { get; }

    /// <summary>The stamp of the versions that can admit (live, or a draft in test mode), as text: @live, @draft.</summary>
    public abstract string StartsStamp { get; }

    /// <summary>
    /// Whether a request's reads (earlier answer, configurations' stamp, profiles by identity) go in one batch of
    /// statements: one round trip instead of three where each statement is one (PostgreSQL).
    /// </summary>
    public virtual bool BatchesReads => false;

    /// <summary>An event's id as the provider stores it.</summary>
    public abstract object Id(Guid id);

    public string Outcome => """UPDATE "StoredEvents" SET "Routed" = @routed, "Reason" = @reason WHERE "Id" = @id""";

    public string Previous => """SELECT "Id", "Matched", "Routed", "Reason" FROM "StoredEvents" WHERE "IdempotencyKey" = @key""";

    public string ProfileByIdentity => """SELECT "ProfileId" FROM "ProfileIdentities" WHERE "Namespace" = @ns AND "Value" = @value""";
}

public sealed class SqliteEventSql : EventSql
{
    public override string Insert => """
        INSERT OR IGNORE INTO "StoredEvents" ("Id", "ReceivedAt", "IdempotencyKey", "Payload", "Matched", "ProfileId", "Routed", "Reason")
        VALUES (@id, @at, @key, @payload, @matched, @profile, 0, @reason)
        """;

    public override string ConfigStamp => """SELECT count(*) || '|' || ifnull(max("UpdatedAt"), '') FROM "EventConfigs" """;

    public override string StartsStamp => """
        SELECT ifnull(group_concat("Id" || ':' || "Status" || ':' || "UpdatedAt", ','), '') FROM (
            SELECT "Id", "Status", "UpdatedAt" FROM "JourneyVersions"
            WHERE "Status" = @live OR ("Status" = @draft AND "TestMode" = 1) ORDER BY "Id")
        """;

    public override object Id(Guid id) => Data.SqlValues.Guid(id);
}

public sealed class PostgreSqlEventSql : EventSql
{
    public override string Insert => """
        INSERT INTO "StoredEvents" ("Id", "ReceivedAt", "IdempotencyKey", "Payload", "Matched", "ProfileId", "Routed", "Reason")
        VALUES (@id, @at, @key, @payload, @matched, @profile, 0, @reason)
        ON CONFLICT DO NOTHING
        """;

    public override string ConfigStamp => """SELECT count(*)::text || '|' || COALESCE(max("UpdatedAt")::text, '') FROM "EventConfigs" """;

    public override string StartsStamp => """
        SELECT COALESCE(string_agg("Id"::text || ':' || "Status" || ':' || "UpdatedAt"::text, ',' ORDER BY "Id"), '')
        FROM "JourneyVersions" WHERE "Status" = @live OR ("Status" = @draft AND "TestMode")
        """;

    public override object Id(Guid id) => id;

    public override bool BatchesReads => true;
}
