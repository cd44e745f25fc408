using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.Migrations
{
    /// <inheritdoc />
    public partial class EmailDeliverability : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<string>(
                name: "Address",
                table: "EmailSuppressions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "Detail",
                table: "EmailSuppressions",
                type: "TEXT",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "EmailFeedback",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    AddressHash = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<string>(type: "TEXT", nullable: false),
                    OutboxMessageId = table.Column<long>(type: "INTEGER", nullable: true),
                    Detail = table.Column<string>(type: "TEXT", nullable: true),
                    At = table.Column<DateTime>(type: "TEXT", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_EmailFeedback", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_EmailSuppressions_At",
                table: "EmailSuppressions",
                column: "At");

            migrationBuilder.CreateIndex(
                name: "IX_EmailFeedback_AddressHash_Kind_At",
                table: "EmailFeedback",
                columns: new[] { "AddressHash", "Kind", "At" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "EmailFeedback");

            migrationBuilder.DropIndex(
                name: "IX_EmailSuppressions_At",
                table: "EmailSuppressions");

            migrationBuilder.DropColumn(
                name: "Address",
                table: "EmailSuppressions");

            migrationBuilder.DropColumn(
                name: "Detail",
                table: "EmailSuppressions");
        }
    }
}
