#!/usr/bin/env bash
# Loads the seed use case into a running JourneyWorker and runs it in test mode:
# sample profiles; then this folder (the audience, the purchase event, the journey) with `JourneyWorker apply`;
# then validate and test; then one test profile opens its e-mail and buys something, and the others take the
# timeout path. Running it again applies the folder again, which changes nothing unless a file was edited.
#   BASE_URL (default http://localhost:5080), API_KEY (the admin key; in Development it is printed at start-up
#   and kept in data/dev-api-keys.json), OUTBOX_DIR (default data/outbox: where the service writes messages
#   when no SMTP server is configured; the script opens one test e-mail from there and sends a purchase),
#   JOURNEYWORKER (how to run the JourneyWorker command; default: the build `dotnet run` made of src/JourneyWorker).
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
# Answers are cut with ${var:0:n}, not | head: with pipefail, head closing the pipe early fails curl (SIGPIPE).
imported="$(curl -sS --fail-with-body -H "X-Api-Key: $API_KEY" -H "Content-Type: application/x-ndjson" \
  --data-binary @"$root/samples/profiles.ndjson" "$BASE_URL/api/profiles/import")"
echo "${imported:0:300}"

echo "== the audience, the purchase event and the journey: JourneyWorker apply $here"
# --no-build: the service runs from that build; building it again under the running service is not wanted.
if [ -n "${JOURNEYWORKER:-}" ]; then
  read -r -a journeyworker <<< "$JOURNEYWORKER"
else
  journeyworker=(dotnet run --no-build --no-launch-profile --project "$root/src/JourneyWorker" --)
fi
applied="$(JOURNEYWORKER_ADMIN_KEY="$API_KEY" "${journeyworker[@]}" apply "$here" --server "$BASE_URL")"
echo "$applied"
# The plan and the result name each definition's id (the last line that does is the newest).
id_of() { sed -n "s/.* $1 \".*\".* id \([0-9a-f-]\{36\}\).*/\1/p" <<< "$applied" | tail -n 1; }
audience_id="$(id_of audience)"
journey_id="$(id_of journey)"
preview="$(api "$BASE_URL/api/audiences/$audience_id/preview")"
echo "${preview:0:200}"
echo "journey $journey_id"
api -X POST "$BASE_URL/api/journeys/$journey_id/validate"

echo "== test mode (test profiles only, every wait lasts 30 s)"
outbox="${OUTBOX_DIR:-$root/data/outbox}"
marker="$(mktemp)"
trap 'rm -f "$marker"' EXIT
if ! api -X POST --data '{"enabled": true, "waitOverride": "PT30S"}' "$BASE_URL/api/journeys/$journey_id/test" >/dev/null; then
  echo "(no draft to test: the journey was published; edit journeys/multi-channel.json and run again for a new draft version)"
  exit 0
fi
sleep 5
api "$BASE_URL/api/journeys/$journey_id/report"

# With the embedded defaults the e-mails are .eml files in the service's data/outbox/email
# (OUTBOX_DIR if the service keeps them elsewhere); with SMTP configured they are in the mailboxes.
# Pick a recipient with a live push token, so that the "thank you" push has somewhere to go.
eml="" to=""
while IFS= read -r candidate; do
  address="$(sed -n 's/^To: *//p' "$candidate" | tr -d '\r' | sed -n 1p)"
  profile="$(api "$BASE_URL/api/profiles/email/$address")"
  if [[ "$profile" == *'"active":true'* ]]; then
    eml="$candidate" to="$address"
    break
  fi
done < <(find "$outbox/email" -name '*.eml' -newer "$marker" 2>/dev/null)
if [ -n "$eml" ]; then
  token="$(grep -o '/t/o/[A-Za-z0-9_-]*' "$eml" | sed -n '1s|/t/o/||p')"
  echo "== $to opens the e-mail (the open pixel, no API key) and buys something"
  curl -sS --fail-with-body -o /dev/null -w "pixel: %{http_code} %{content_type}\n" "$BASE_URL/t/o/$token"
  sleep 2
  api -X POST --data "{\"purchaseMessage\": \"thank you\", \"customerEmail\": \"$to\", \"productName\": \"Shoes\"}" "$BASE_URL/api/events"
  sleep 2
  api "$BASE_URL/api/journeys/$journey_id/instances?profile=email:$to"
  echo "== waiting 35 s: whoever did not open gets the follow-up e-mail"
  sleep 35
  api "$BASE_URL/api/journeys/$journey_id/report"
else
  echo "no new .eml for a profile with a push token in $outbox/email (SMTP configured, or set OUTBOX_DIR): open one of the test e-mails to go on"
fi
echo
echo "Publish when ready:  JOURNEYWORKER_ADMIN_KEY=... JourneyWorker apply $here --server $BASE_URL --publish"
echo "                 or:  curl -X POST -H 'X-Api-Key: ...' $BASE_URL/api/journeys/$journey_id/publish"
