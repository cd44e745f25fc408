using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.Migrations
{
    /// <inheritdoc />
    public partial class NodeCounters : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "NodeCounters",
                columns: table => new
                {
                    VersionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    NodeId = table.Column<string>(type: "TEXT", nullable: false),
                    Shard = table.Column<int>(type: "INTEGER", nullable: false),
                    Entered = table.Column<long>(type: "INTEGER", nullable: false),
                    Succeeded = table.Column<long>(type: "INTEGER", nullable: false),
                    Failed = table.Column<long>(type: "INTEGER", nullable: false),
                    TimedOut = table.Column<long>(type: "INTEGER", nullable: false),
                    Skipped = table.Column<long>(type: "INTEGER", nullable: false),
                    Exited = table.Column<long>(type: "INTEGER", nullable: false),
                    Active = table.Column<long>(type: "INTEGER", nullable: false),
                    Waiting = table.Column<long>(type: "INTEGER", nullable: false),
                    EndedCompleted = table.Column<long>(type: "INTEGER", nullable: false),
                    EndedFailed = table.Column<long>(type: "INTEGER", nullable: false),
                    EndedExited = table.Column<long>(type: "INTEGER", nullable: false),
                    Conversions = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_NodeCounters", x => new { x.VersionId, x.NodeId, x.Shard });
                });

            // Reports of existing versions stay right: the counters start from the history they replace.
            migrationBuilder.Sql(JourneyWorker.Runtime.Store.InstanceSql.BackfillCounters);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "NodeCounters");
        }
    }
}
