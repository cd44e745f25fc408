#!/usr/bin/env bash
# Loads the respectful win-back journey into a running JourneyWorker and tries it in test mode:
# sample profiles; the frequency rule; then this folder (audience, purchase event, journey) with `JourneyWorker apply`;
# validate; test mode. Running it again changes nothing unless a file was edited.
#   BASE_URL (default http://localhost:5080), API_KEY (the admin key; in Development it is kept in data/dev-api-keys.json),
#   JOURNEYWORKER (how to run the JourneyWorker command; default: the build `dotnet run` made of src/JourneyWorker).
# The service needs Webhooks:AllowedHosts to list crm.example.com (see README.md here), or validation refuses the webhook.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BASE_URL="${BASE_URL:-http://localhost:5080}"
if [ -z "${API_KEY:-}" ] && [ -f "$root/data/dev-api-keys.json" ]; then
  API_KEY="$(sed -E 's/.*"admin":"([^"]+)".*/\1/' "$root/data/dev-api-keys.json")"
fi
: "${API_KEY:?set API_KEY to the admin key}"
api() { curl -sS --fail-with-body -H "X-Api-Key: $API_KEY" -H "Content-Type: application/json" "$@"; echo; }

echo "== importing sample profiles"
imported="$(curl -sS --fail-with-body -H "X-Api-Key: $API_KEY" -H "Content-Type: application/x-ndjson" \
  --data-binary @"$root/samples/profiles.ndjson" "$BASE_URL/api/profiles/import")"
echo "${imported:0:300}"

echo "== frequency rule"
api -X PUT --data @"$here/frequency.json" "$BASE_URL/api/rules/frequency"

echo "== the audience, the purchase event and the journey: JourneyWorker apply $here"
if [ -n "${JOURNEYWORKER:-}" ]; then
  read -r -a journeyworker <<< "$JOURNEYWORKER"
else
  journeyworker=(dotnet run --no-build --no-launch-profile --project "$root/src/JourneyWorker" --)
fi
applied="$(JOURNEYWORKER_ADMIN_KEY="$API_KEY" "${journeyworker[@]}" apply "$here" --server "$BASE_URL")"
echo "$applied"
journey_id="$(sed -n "s/.* journey \".*\".* id \([0-9a-f-]\{36\}\).*/\1/p" <<< "$applied" | tail -n 1)"
api -X POST "$BASE_URL/api/journeys/$journey_id/validate"

echo "== test mode (test profiles only, every wait lasts 30 s)"
api -X POST --data '{"enabled": true, "waitOverride": "PT30S"}' "$BASE_URL/api/journeys/$journey_id/test" >/dev/null
sleep 5
api "$BASE_URL/api/journeys/$journey_id/report"
echo
echo "Publish when ready:  curl -X POST -H 'X-Api-Key: ...' $BASE_URL/api/journeys/$journey_id/publish"
