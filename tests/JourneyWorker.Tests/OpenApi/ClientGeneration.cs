using NJsonSchema.CodeGeneration.CSharp;
using NSwag.CodeGeneration.CSharp;
using NSwag.CodeGeneration.OperationNameGenerators;

namespace JourneyWorker.Tests.OpenApi;

/// <summary>
/// The C# client NSwag generates from the served OpenAPI document: one class with a method per operationId, System.Text.Json
/// models, the HttpClient's BaseAddress as the server. The generated file is kept in the test project (so the client
/// tests compile against it); <see cref="GeneratedClientTests"/> checks that it is what the served document generates now.
/// </summary>
public static class ClientGeneration
{
    public const string Namespace = "JourneyWorker.Tests.OpenApi.Generated";
    public const string ClassName = "JourneyWorkerClient";

    /// <summary>The file the generated client is kept in, beside this one.</summary>
    public static string SourceFile([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.Combine(Path.GetDirectoryName(here)!, "Generated", ClassName + ".g.cs");

    public static async Task<string> GenerateAsync(string documentJson)
    {
        var document = await NSwag.OpenApiDocument.FromJsonAsync(documentJson);
        var settings = new CSharpClientGeneratorSettings
        {
            ClassName = ClassName,
            UseBaseUrl = false,
            GenerateClientInterfaces = false,
            GenerateExceptionClasses = true,
            ExceptionClass = "JourneyWorkerApiException",
            OperationNameGenerator = new SingleClientFromOperationIdOperationNameGenerator(),
            CSharpGeneratorSettings =
            {
                Namespace = Namespace,
                JsonLibrary = CSharpJsonLibrary.SystemTextJson,
                GenerateNullableReferenceTypes = true,
                GenerateOptionalPropertiesAsNullable = true,
                ClassStyle = CSharpClassStyle.Poco,
                DateTimeType = "System.DateTimeOffset",
                ArrayType = "System.Collections.Generic.List",
                ArrayInstanceType = "System.Collections.Generic.List",
                DictionaryType = "System.Collections.Generic.Dictionary",
                DictionaryInstanceType = "System.Collections.Generic.Dictionary",
            },
        };
        // Line endings are the generator's own: normalised so the comparison holds on any platform.
        return new CSharpClientGenerator(document, settings).GenerateFile().ReplaceLineEndings("\n");
    }
}
