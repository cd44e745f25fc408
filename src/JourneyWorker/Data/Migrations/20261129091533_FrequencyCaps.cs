using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.Migrations
{
    /// <inheritdoc />
    public partial class FrequencyCaps : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Category",
                table: "OutboxMessages",
                type: "TEXT",
                nullable: false,
                defaultValue: "marketing"); // every message before categories was a marketing one

            migrationBuilder.AddColumn<long>(
                name: "ProfileId",
                table: "OutboxMessages",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0L);

            // Frequency caps count a profile's messages by this column: the rows sent before it existed get their instance's profile.
            migrationBuilder.Sql("""
                UPDATE "OutboxMessages"
                SET "ProfileId" = COALESCE((SELECT i."ProfileId" FROM "JourneyInstances" i WHERE i."Id" = "OutboxMessages"."InstanceId"), 0)
                """);

            migrationBuilder.CreateTable(
                name: "FrequencyRules",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    Position = table.Column<int>(type: "INTEGER", nullable: false),
                    Channel = table.Column<string>(type: "TEXT", nullable: false),
                    Max = table.Column<int>(type: "INTEGER", nullable: false),
                    Per = table.Column<TimeSpan>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_FrequencyRules", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_OutboxMessages_ProfileId_CreatedAt",
                table: "OutboxMessages",
                columns: new[] { "ProfileId", "CreatedAt" });

            migrationBuilder.CreateIndex(
                name: "IX_FrequencyRules_Position",
                table: "FrequencyRules",
                column: "Position",
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "FrequencyRules");

            migrationBuilder.DropIndex(
                name: "IX_OutboxMessages_ProfileId_CreatedAt",
                table: "OutboxMessages");

            migrationBuilder.DropColumn(
                name: "Category",
                table: "OutboxMessages");

            migrationBuilder.DropColumn(
                name: "ProfileId",
                table: "OutboxMessages");
        }
    }
}
