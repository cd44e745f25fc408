using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace JourneyWorker.Data;

/// <summary>
/// The database of journeys. On SQLite this type itself runs (its migrations are keyed to it); on
/// PostgreSQL <see cref="PostgreSql.PostgreSqlJourneyDbContext"/> runs the same model with its own migrations.
/// </summary>
public class JourneyDbContext : DbContext
{
    public JourneyDbContext(DbContextOptions<JourneyDbContext> options)
        : base(options)
    {
    }

    protected JourneyDbContext(DbContextOptions options)
        : base(options)
    {
    }

    public DbSet<Profile> Profiles => Set<Profile>();
    public DbSet<ProfileIdentity> ProfileIdentities => Set<ProfileIdentity>();
    public DbSet<PushToken> PushTokens => Set<PushToken>();
    public DbSet<ProfileImport> ProfileImports => Set<ProfileImport>();
    public DbSet<Audience> Audiences => Set<Audience>();
    public DbSet<AudienceMember> AudienceMembers => Set<AudienceMember>();
    public DbSet<EventConfig> EventConfigs => Set<EventConfig>();
    public DbSet<Journey> Journeys => Set<Journey>();
    public DbSet<JourneyVersion> JourneyVersions => Set<JourneyVersion>();
    public DbSet<JourneyInstance> JourneyInstances => Set<JourneyInstance>();
    public DbSet<InstanceStep> InstanceSteps => Set<InstanceStep>();
    public DbSet<Conversion> Conversions => Set<Conversion>();
    public DbSet<NodeCounter> NodeCounters => Set<NodeCounter>();
    public DbSet<OutboxMessage> OutboxMessages => Set<OutboxMessage>();
    public DbSet<StoredEvent> StoredEvents => Set<StoredEvent>();
    public DbSet<TrackedLink> TrackedLinks => Set<TrackedLink>();
    public DbSet<MessageReaction> MessageReactions => Set<MessageReaction>();
    public DbSet<EmailSuppression> EmailSuppressions => Set<EmailSuppression>();
    public DbSet<FrequencyRule> FrequencyRules => Set<FrequencyRule>();
    public DbSet<EmailFeedback> EmailFeedback => Set<EmailFeedback>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite hands DateTime back as Unspecified; everything we store is UTC.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Profile>(e =>
        {
            e.HasMany(p => p.Identities).WithOne().HasForeignKey(i => i.ProfileId).OnDelete(DeleteBehavior.Cascade);
            e.HasMany(p => p.PushTokens).WithOne().HasForeignKey(t => t.ProfileId).OnDelete(DeleteBehavior.Cascade);
        });
        modelBuilder.Entity<ProfileIdentity>(e =>
        {
            e.HasIndex(i => new { i.Namespace, i.Value }).IsUnique();
                    });
        modelBuilder.Entity<PushToken>().HasIndex(t => new { t.ProfileId, t.Token }).IsUnique();
        modelBuilder.Entity<Audience>().HasIndex(a => a.Name);
        // Looked up per audience for the profiles of a write; a profile's rows are deleted audience by audience through
        // the same key (audiences are few), so no second index slows the inserts of a large import.
        modelBuilder.Entity<AudienceMember>().HasKey(m => new { m.AudienceId, m.ProfileId });
        modelBuilder.Entity<EventConfig>(e =>
        {
            e.HasIndex(c => c.Name).IsUnique();
            e.HasIndex(c => c.EventId).IsUnique();
        });
        modelBuilder.Entity<Journey>()
            .HasMany(j => j.Versions).WithOne().HasForeignKey(v => v.JourneyId).OnDelete(DeleteBehavior.Cascade);
        modelBuilder.Entity<JourneyVersion>(e =>
        {
            e.HasIndex(v => new { v.JourneyId, v.Version }).IsUnique();
            e.HasIndex(v => v.Status);
        });
        modelBuilder.Entity<JourneyInstance>(e =>
        {
            // The poll: due work by status and due time.
            e.HasIndex(i => new { i.Status, i.DueAt });
            e.HasIndex(i => new { i.JourneyVersionId, i.Status });
                        // A profile is in a journey at most once at a time, whatever the version.
            e.HasIndex(i => new { i.JourneyId, i.ProfileId })
                .IsUnique()
                .HasFilter($"\"Status\" IN ('{InstanceStatus.Active}', '{InstanceStatus.Waiting}')")
                .HasDatabaseName("UX_JourneyInstances_Running");
            e.HasIndex(i => new { i.ProfileId, i.WaitingFor });
            // A runner commits only while it still holds the lease it claimed with.
            e.Property(i => i.LeaseOwner).IsConcurrencyToken();
        });
        modelBuilder.Entity<InstanceStep>(e =>
        {
            e.HasIndex(s => new { s.InstanceId, s.Seq }).IsUnique();
            e.HasIndex(s => new { s.NodeId, s.Outcome });
        });
        modelBuilder.Entity<OutboxMessage>(e =>
        {
            e.HasIndex(m => new { m.InstanceId, m.NodeId }).IsUnique();
            e.HasIndex(m => m.MessageId).IsUnique();
            // Frequency caps: a profile's messages since a time. Both columns never change, so marking a message sent
            // leaves this index alone (and PostgreSQL may still update the row in place).
            e.HasIndex(m => new { m.ProfileId, m.CreatedAt });
        });
        modelBuilder.Entity<StoredEvent>(e =>
        {
            e.HasIndex(ev => ev.IdempotencyKey).IsUnique();
            e.HasIndex(ev => ev.ProfileId);
        });
        modelBuilder.Entity<TrackedLink>().HasIndex(l => new { l.OutboxMessageId, l.Index }).IsUnique();
        modelBuilder.Entity<MessageReaction>().HasIndex(r => new { r.OutboxMessageId, r.Kind }).IsUnique();
        modelBuilder.Entity<EmailSuppression>(e =>
        {
            e.HasKey(s => s.AddressHash);
            e.HasIndex(s => s.At);
        });
        // Soft bounces of an address within a window; the same report of the same send twice.
        modelBuilder.Entity<EmailFeedback>().HasIndex(f => new { f.AddressHash, f.Kind, f.At });
        modelBuilder.Entity<Conversion>(e =>
        {
            e.HasKey(c => c.InstanceId);
            e.Property(c => c.InstanceId).ValueGeneratedNever();
            e.HasIndex(c => new { c.JourneyId, c.NodeId });
        });
        modelBuilder.Entity<FrequencyRule>().HasIndex(r => r.Position).IsUnique();
        modelBuilder.Entity<NodeCounter>().HasKey(c => new { c.VersionId, c.NodeId, c.Shard });
    }

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
}
