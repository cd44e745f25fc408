using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace JourneyWorker.Data.PostgreSql.Migrations
{
    /// <inheritdoc />
    public partial class AudienceMembers : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "AudienceMembers",
                columns: table => new
                {
                    AudienceId = table.Column<Guid>(type: "uuid", nullable: false),
                    ProfileId = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_AudienceMembers", x => new { x.AudienceId, x.ProfileId });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "AudienceMembers");
        }
    }
}
