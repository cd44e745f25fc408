#!/usr/bin/env bash
# Loads the seed use case into a running JourneyWorker and runs it in test mode:
# sample profiles, the audience, the purchase event, the journey; then validate and test.
#   BASE_URL (default http://localhost:5080), API_KEY (the admin key; in Development it is printed at start-up
#   and kept in data/dev-api-keys.json).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
BASE_URL="${BASE_URL:-http://localhost:5080}"
if [ -z "${API_KEY:-}" ] && [ -f "$root/data/dev-api-keys.json" ]; then
  API_KEY="$(sed -E 's/.*"admin":"([^"]+)".*/\1/' "$root/data/dev-api-keys.json")"
fi
: "${API_KEY:?set API_KEY to the admin key}"
api() { curl -sS --fail-with-body -H "X-Api-Key: $API_KEY" -H "Content-Type: application/json" "$@"; echo; }
field() { sed -E "s/.*\"$1\":\"?([^\",}]+)\"?.*/\1/"; }

echo "== importing sample profiles"
curl -sS --fail-with-body -H "X-Api-Key: $API_KEY" -H "Content-Type: application/x-ndjson" \
  --data-binary @"$root/samples/profiles.ndjson" "$BASE_URL/api/profiles/import" | head -c 300; echo

echo "== audience"
audience_id="$(api -X POST --data @"$here/audience.json" "$BASE_URL/api/audiences" | field id)"
api "$BASE_URL/api/audiences/$audience_id/preview" | head -c 200; echo

echo "== purchase event configuration"
api -X POST --data @"$here/purchase-event.json" "$BASE_URL/api/event-configs" >/dev/null || true

echo "== journey"
journey_id="$(sed "s/AUDIENCE_ID/$audience_id/" "$here/journey.json" | api -X POST --data @- "$BASE_URL/api/journeys" | field id)"
echo "journey $journey_id"
api -X POST "$BASE_URL/api/journeys/$journey_id/validate"

echo "== test mode (test profiles only, every wait lasts 30 s)"
api -X POST --data '{"enabled": true, "waitOverride": "PT30S"}' "$BASE_URL/api/journeys/$journey_id/test" >/dev/null
sleep 5
echo "messages written to $root/data/outbox/ (or sent through SMTP/FCM if configured)"
api "$BASE_URL/api/journeys/$journey_id/report"
echo
echo "Publish when ready:  curl -X POST -H 'X-Api-Key: ...' $BASE_URL/api/journeys/$journey_id/publish"
