using System.Data.Common;

namespace JourneyWorker.Data;

/// <summary>Raw SQL helpers for the hot paths (claims, bulk admission, resumes) that bypass change tracking.</summary>
public static class DbCommandExtensions
{
    public static DbParameter AddParameter(this DbCommand command, string name, object? value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        command.Parameters.Add(parameter);
        return parameter;
    }
}
