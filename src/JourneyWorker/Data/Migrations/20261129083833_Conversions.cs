using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.Migrations
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
                    InstanceId = table.Column<long>(type: "INTEGER", nullable: false),
                    JourneyId = table.Column<Guid>(type: "TEXT", nullable: false),
                    JourneyVersionId = table.Column<Guid>(type: "TEXT", nullable: false),
                    NodeId = table.Column<string>(type: "TEXT", nullable: true),
                    At = table.Column<DateTime>(type: "TEXT", nullable: false)
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
