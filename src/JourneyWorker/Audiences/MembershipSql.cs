namespace JourneyWorker.Audiences;

/// <summary>
/// The statements that keep audience membership (<c>AudienceMembers</c>), one set per provider. <c>{rule}</c> is an
/// audience rule as <see cref="AudienceQuery.Where"/> translates it: a condition on a <c>Profiles</c> row whose values
/// are the parameters @p0…; its text holds no client data. @audience is the audience, @ids the profiles just written.
/// </summary>
public abstract class MembershipSql
{
    /// <summary>A Guid as the provider stores it (EF Core's SQLite provider: upper-case text; PostgreSQL: uuid).</summary>
    public abstract object Guid(Guid value);

    /// <summary>A list of ids as one parameter (SQLite: a JSON array read with json_each; PostgreSQL: a bigint[]).</summary>
    public abstract object Ids(IReadOnlyCollection<long> ids);

    /// <summary>
    /// Taken by every transaction that compares profiles with the membership (a profile write): shared, so that writes
    /// run side by side, and ordered against <see cref="LockExclusive"/>. Null where one writer at a time already orders
    /// them (SQLite's write gate). @class is the lock class.
    /// </summary>
    public virtual string? LockShared => null;

    /// <summary>
    /// Taken by a transaction that changes which audiences are tracked or what their rule is, before it reads either:
    /// a profile write committing meanwhile would otherwise be missed by both the seed and its own comparison.
    /// </summary>
    public virtual string? LockExclusive => null;

    /// <summary>Adds the written profiles that match the rule and were not members; returns their ids.</summary>
    public abstract string Join(string rule);

    /// <summary>Removes the members among the written profiles that no longer match the rule; returns their ids.</summary>
    public abstract string Leave(string rule);

    /// <summary>Every profile that matches the rule now becomes a member (after <see cref="Forget"/>), admitting nobody.</summary>
    public string Seed(string rule) => $"""
        INSERT INTO "AudienceMembers" ("AudienceId", "ProfileId")
        SELECT @audience, "Id" FROM "Profiles" WHERE {rule}
        """;

    public string Forget => """DELETE FROM "AudienceMembers" WHERE "AudienceId" = @audience""";
}

public sealed class SqliteMembershipSql : MembershipSql
{
    public override object Guid(Guid value) => Data.SqlValues.Guid(value);

    public override object Ids(IReadOnlyCollection<long> ids) => System.Text.Json.JsonSerializer.Serialize(ids);

    public override string Join(string rule) => $"""
        INSERT INTO "AudienceMembers" ("AudienceId", "ProfileId")
        SELECT @audience, p."Id" FROM "Profiles" p
        WHERE p."Id" IN (SELECT value FROM json_each(@ids))
          AND NOT EXISTS (SELECT 1 FROM "AudienceMembers" m WHERE m."AudienceId" = @audience AND m."ProfileId" = p."Id")
          AND {rule}
        RETURNING "ProfileId"
        """;

    /// <summary>The rule is evaluated only for the written profiles that are members: none, for a first import.</summary>
    public override string Leave(string rule) => $"""
        DELETE FROM "AudienceMembers"
        WHERE "AudienceId" = @audience AND "ProfileId" IN (SELECT value FROM json_each(@ids))
          AND EXISTS (SELECT 1 FROM "Profiles" p WHERE p."Id" = "AudienceMembers"."ProfileId" AND NOT {rule})
        RETURNING "ProfileId"
        """;
}

public sealed class PostgreSqlMembershipSql : MembershipSql
{
    public override object Guid(Guid value) => value;

    public override object Ids(IReadOnlyCollection<long> ids) => ids as long[] ?? [.. ids];

    public override string LockShared => "SELECT pg_advisory_xact_lock_shared(@class, 0)";

    public override string LockExclusive => "SELECT pg_advisory_xact_lock(@class, 0)";

    public override string Join(string rule) => $"""
        INSERT INTO "AudienceMembers" ("AudienceId", "ProfileId")
        SELECT @audience, p."Id" FROM "Profiles" p
        WHERE p."Id" = ANY(@ids)
          AND NOT EXISTS (SELECT 1 FROM "AudienceMembers" m WHERE m."AudienceId" = @audience AND m."ProfileId" = p."Id")
          AND {rule}
        ON CONFLICT DO NOTHING
        RETURNING "ProfileId"
        """;

    public override string Leave(string rule) => $"""
        DELETE FROM "AudienceMembers"
        WHERE "AudienceId" = @audience AND "ProfileId" = ANY(@ids)
          AND EXISTS (SELECT 1 FROM "Profiles" p WHERE p."Id" = "AudienceMembers"."ProfileId" AND NOT {rule})
        RETURNING "ProfileId"
        """;
}
