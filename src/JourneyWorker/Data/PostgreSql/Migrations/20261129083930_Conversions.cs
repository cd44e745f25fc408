using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class Conversions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Conversions",
                columns: table => new
                {
                    InstanceId = table.Column<long>(type: "bigint", nullable: false),
                    JourneyId = table.Column<Guid>(type: "uuid", nullable: false),
                    JourneyVersionId = table.Column<Guid>(type: "uuid", nullable: false),
                    NodeId = table.Column<string>(type: "text", nullable: true),
                    At = table.Column<DateTime>(type: "timestamp with time zone", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Conversions", x => x.InstanceId);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Conversions_JourneyId_NodeId",
                table: "Conversions",
                columns: new[] { "JourneyId", "NodeId" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Conversions");
        }
    }
}
