using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.PostgreSql.Migrations
{
    /// <summary>
    /// Outbox pages keep half their room for the update that marks each message sent (or failed, or due for a retry)
    /// one round after its checkpoint inserted it. That update changes no indexed column, so with room on the row's own
    /// page it is a heap-only (HOT) update; on full pages 97 % of them wrote a new entry in each of the table's four
    /// indexes. Only pages written from now on keep the room (no rewrite of an existing table).
    /// </summary>
    [DbContext(typeof(PostgreSqlJourneyDbContext))]
    [Migration("20261129144500_OutboxFillFactor")]
    public partial class OutboxFillFactor : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql("""ALTER TABLE "OutboxMessages" SET (fillfactor = 50)""");

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder) =>
            migrationBuilder.Sql("""ALTER TABLE "OutboxMessages" RESET (fillfactor)""");
    }
}
