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

    /// <summary>Adds a statement to a batch (one round trip for all of them); a null value is sent as NULL.</summary>
    public static DbBatchCommand Add(this DbBatch batch, string text, params (string Name, object? Value)[] values)
    {
        var command = batch.CreateBatchCommand();
        command.CommandText = text;
        foreach (var (name, value) in values)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        batch.BatchCommands.Add(command);
        return command;
    }

    /// <summary>Gives a batch command's parameter a type: a NULL whose type the server cannot infer.</summary>
    public static DbBatchCommand Typed(this DbBatchCommand command, string name, System.Data.DbType type)
    {
        command.Parameters[name].DbType = type;
        return command;
    }
}
