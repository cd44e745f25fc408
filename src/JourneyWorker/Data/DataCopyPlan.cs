using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using NpgsqlTypes;

namespace JourneyWorker.Data;

/// <summary>
/// One table of the model to copy: the columns taken over, in the order they are read and written, and the integer
/// key PostgreSQL may number from a sequence (which must continue past the copied ids).
/// </summary>
public sealed record TableCopy(string Table, IReadOnlyList<ColumnCopy> Columns, string? IdentityColumn);

/// <summary>A column under the same name on both sides, with the PostgreSQL type its values are written as.</summary>
public sealed record ColumnCopy(string Name, NpgsqlDbType Type, bool Nullable);

/// <summary>
/// What `migrate-data` copies, read from the EF model rather than listed by hand, so that a table or column added
/// to the model is copied without anyone remembering to: every table, principals before the tables that refer to
/// them (the foreign keys are checked row by row during the copy). Both providers run the same model
/// (<see cref="JourneyDbContext"/>'s configuration, EF's default names), so a name is the same on either side.
/// </summary>
public static class DataCopyPlan
{
    /// <summary>The PostgreSQL type written for each CLR type of the model, with the column type its migration must have made.</summary>
    private static readonly Dictionary<Type, (NpgsqlDbType Type, string StoreType)> Types = new()
    {
        [typeof(string)] = (NpgsqlDbType.Text, "text"),
        [typeof(long)] = (NpgsqlDbType.Bigint, "bigint"),
        [typeof(int)] = (NpgsqlDbType.Integer, "integer"),
        [typeof(bool)] = (NpgsqlDbType.Boolean, "boolean"),
        [typeof(Guid)] = (NpgsqlDbType.Uuid, "uuid"),
        [typeof(DateTime)] = (NpgsqlDbType.TimestampTz, "timestamp with time zone"),
        [typeof(TimeSpan)] = (NpgsqlDbType.Interval, "interval"),
    };

    /// <summary>
    /// Columns left out, so that they start empty: a copied lease would keep its instance from every worker until
    /// it expired, and no worker of the old database will ever come back to release it.
    /// </summary>
    private static readonly HashSet<(Type Entity, string Property)> NotCopied =
    [
        (typeof(JourneyInstance), nameof(JourneyInstance.LeaseOwner)),
        (typeof(JourneyInstance), nameof(JourneyInstance.LeaseUntil)),
    ];

    public static IReadOnlyList<TableCopy> For(IModel model)
    {
        var ordered = new List<IEntityType>();
        var placed = new HashSet<IEntityType>();
        foreach (var entity in model.GetEntityTypes().Where(e => e.GetTableName() is not null).OrderBy(e => e.GetTableName(), StringComparer.Ordinal))
        {
            Place(entity, ordered, placed);
        }
        return [.. ordered.Select(Table)];
    }

    private static void Place(IEntityType entity, List<IEntityType> ordered, HashSet<IEntityType> placed)
    {
        if (!placed.Add(entity))
        {
            return;
        }
        foreach (var foreignKey in entity.GetForeignKeys())
        {
            Place(foreignKey.PrincipalEntityType, ordered, placed);
        }
        ordered.Add(entity);
    }

    private static TableCopy Table(IEntityType entity)
    {
        var columns = entity.GetProperties()
            .Where(p => !NotCopied.Contains((entity.ClrType, p.Name)))
            .Select(p => Column(entity, p))
            .ToList();
        var key = entity.FindPrimaryKey()?.Properties is [var single] && (single.ClrType == typeof(long) || single.ClrType == typeof(int))
            ? single.GetColumnName()
            : null;
        return new TableCopy(entity.GetTableName()!, columns, key);
    }

    private static ColumnCopy Column(IEntityType entity, IProperty property)
    {
        var clrType = Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType;
        var storeType = property.GetRelationalTypeMapping().StoreType;
        if (!Types.TryGetValue(clrType, out var type) || type.StoreType != storeType)
        {
            throw new NotSupportedException(
                $"{entity.GetTableName()}.{property.GetColumnName()} is {clrType.Name} stored as {storeType}: migrate-data does not know how to copy it yet.");
        }
        return new ColumnCopy(property.GetColumnName(), type.Type, property.IsNullable);
    }
}
