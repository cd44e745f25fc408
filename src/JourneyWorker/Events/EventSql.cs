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

    /// <summary>The stamp of the versions that can admit or still run (live, closed, or a draft in test mode), as text: @live, @closed, @draft.</summary>
    public abstract string StartsStamp { get; }

    /// <summary>
    /// The profiles of a batch's identities in one statement (@namespaces, @values: parallel text arrays; columns
    /// namespace, value, profile id), or null to look each up with <see cref="ProfileByIdentity"/> (SQLite: in process,
    /// a prepared lookup costs less than building a set).
    /// </summary>
    public virtual string? ProfilesByIdentities => null;

    /// <summary>
    /// A batch's events in one statement (@ids, @ats, @keys, @payloads, @matched, @profiles, @reasons: parallel arrays, in
    /// order, the first of two with the same key wins), returning the ids stored; or null to insert them one at a time.
    /// </summary>
    public virtual string? InsertMany => null;

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
            WHERE "Status" IN (@live, @closed) OR ("Status" = @draft AND "TestMode" = 1) ORDER BY "Id")
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
        FROM "JourneyVersions" WHERE "Status" IN (@live, @closed) OR ("Status" = @draft AND "TestMode")
        """;

    public override object Id(Guid id) => id;

    public override string ProfilesByIdentities => """
        SELECT i."Namespace", i."Value", i."ProfileId"
        FROM unnest(CAST(@namespaces AS text[]), CAST(@values AS text[])) AS k("Namespace", "Value")
        JOIN "ProfileIdentities" i ON i."Namespace" = k."Namespace" AND i."Value" = k."Value"
        """;

    /// <summary>One multi-row insert from arrays: a five-hundredth of a statement per event instead of one each.</summary>
    public override string InsertMany => """
        INSERT INTO "StoredEvents" ("Id", "ReceivedAt", "IdempotencyKey", "Payload", "Matched", "ProfileId", "Routed", "Reason")
        SELECT e."Id", e."ReceivedAt", e."IdempotencyKey", e."Payload", e."Matched", e."ProfileId", 0, e."Reason"
        FROM unnest(CAST(@ids AS uuid[]), CAST(@ats AS timestamptz[]), CAST(@keys AS text[]), CAST(@payloads AS text[]),
                    CAST(@matched AS text[]), CAST(@profiles AS bigint[]), CAST(@reasons AS text[]))
             WITH ORDINALITY AS e("Id", "ReceivedAt", "IdempotencyKey", "Payload", "Matched", "ProfileId", "Reason", "Order")
        ORDER BY e."Order"
        ON CONFLICT DO NOTHING
        RETURNING "Id"
        """;
}
