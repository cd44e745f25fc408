# syntax=docker/dockerfile:1
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig appsettings.json ./
COPY src/JourneyWorker/JourneyWorker.csproj src/JourneyWorker/
RUN dotnet restore src/JourneyWorker/JourneyWorker.csproj
COPY src/ src/
RUN dotnet publish src/JourneyWorker/JourneyWorker.csproj -c Release -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# Send windows and waits until a local time read IANA zones (America/New_York, …) from the tz database: make sure
# it is there and current (a no-op where the base image already has the latest). Without it only UTC resolves.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app ./
# The SQLite file, generated keys and the outbox pickup folders live on the /data volume.
ENV ASPNETCORE_ENVIRONMENT=Production \
    Urls=http://+:8080 \
    ConnectionStrings__Journeys="Data Source=/data/journeyworker.db" \
    Email__PickupDirectory=/data/outbox/email \
    Push__PickupDirectory=/data/outbox/push
RUN mkdir -p /data && chown app:app /data
VOLUME /data
USER app
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["dotnet", "JourneyWorker.dll", "--healthcheck", "http://127.0.0.1:8080/health/ready"]
# Security__AdminApiKey and Security__IngestApiKey must be given (docker run -e ...): the service refuses to start without them.
ENTRYPOINT ["dotnet", "JourneyWorker.dll"]
