using JourneyWorker.Audiences;
using JourneyWorker.Data;
using JourneyWorker.Expressions;
using JourneyWorker.Tests.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JourneyWorker.Tests.Audiences;

/// <summary>Audience counts and member pages through EF on PostgreSQL, against the profiles the evaluator accepts.</summary>
public sealed class AudienceQueryPostgresTests(PostgresProfiles postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Counts_and_pages_the_members_the_evaluator_accepts()
    {
        await using var db = new JourneyDbContext(new DbContextOptionsBuilder<JourneyDbContext>().UseNpgsql(postgres.ConnectionStringOrSkip()).Options);
        Assert.Equal(SqlDialect.PostgreSql, db.Dialect());

        const string rule = "person.birthYear >= 1985 or lower(homeAddress.city) = \"atlanta\"";
        var now = EvaluatorSqlAgreementTests.Now;
        var members = EvaluatorSqlAgreementTests.Accepted(ExpressionParser.Parse(rule)).Order().ToList();
        Assert.InRange(members.Count, 200, EvaluatorSqlAgreementTests.Profiles.Value.Count - 200);

        Assert.Equal(members.Count, await AudienceQuery.CountAsync(db, rule, now, Ct));
        Assert.Equal(members, await ReadAllAsync(db, rule, testOnly: false, now));
        Assert.Equal(members.Where(PostgresProfiles.IsTest), await ReadAllAsync(db, rule, testOnly: true, now));
    }

    private static async Task<List<long>> ReadAllAsync(JourneyDbContext db, string rule, bool testOnly, DateTimeOffset now)
    {
        var all = new List<long>();
        while (await AudienceQuery.ReadIdsAsync(db, rule, all.LastOrDefault(), 250, testOnly, now, Ct) is { Count: > 0 } page)
        {
            all.AddRange(page);
        }
        return all;
    }
}
