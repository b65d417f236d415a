#!/usr/bin/env bash
# Benchmark: serving a cached thumbnail over HTTP (requests/s), with wrk.
# Builds the release binary, starts it on a scratch SQLite database and local disk storage,
# uploads one avatar, then loads its 256 px thumbnail URL (a signed URL: the path browsers
# use for <img>) and the same with If-None-Match (the 304 a cached browser sends).
#   DURATION (default 15s), CONNECTIONS (default 64), PORT (default 8479)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-64}"
PORT="${PORT:-8479}"
command -v wrk >/dev/null || { echo "bench-thumbnail.sh: install wrk (apt-get install wrk)" >&2; exit 1; }

cargo build --release --quiet
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export USERPROFILE_DATA_DIR="$work" USERPROFILE_DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
export USERPROFILE_LISTEN="127.0.0.1:$PORT" RUST_LOG=warn
target/release/userprofile serve --dev >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

token="$(target/release/userprofile dev-token --sub bench --tenant bench=admin)"
gql() { curl -fsS "http://127.0.0.1:$PORT/graphql" -H "Authorization: Bearer $token" "$@"; }
gql -H 'Content-Type: application/json' \
  -d '{"query":"mutation { addFieldsFromTemplates(templateKeys: [\"avatar\"]) { added { key } } }"}' >/dev/null
python3 -c 'import struct,zlib
w,h=800,600
raw=b"".join(b"\0"+bytes((x*7+y)%256 for x in range(w*3)) for y in range(h))
def chunk(k,d): return struct.pack(">I",len(d))+k+d+struct.pack(">I",zlib.crc32(k+d))
open("'"$work"'/avatar.png","wb").write(b"\x89PNG\r\n\x1a\n"+chunk(b"IHDR",struct.pack(">IIBBBBB",w,h,8,2,0,0,0))+chunk(b"IDAT",zlib.compress(raw))+chunk(b"IEND",b""))'
answer="$(gql -F 'operations={"query":"mutation($f: Upload!) { uploadFile(file: $f, fieldKey: \"avatar\") { file { thumbnails { size url } } } }","variables":{"f":null}}' \
  -F 'map={"0":["variables.f"]}' -F "0=@$work/avatar.png;type=image/png")"
url="$(python3 -c 'import json,sys; t=json.loads(sys.argv[1])["data"]["uploadFile"]["file"]["thumbnails"]; print([x["url"] for x in t if x["size"]==256][0])' "$answer")"
etag="$(curl -fsSI "http://127.0.0.1:$PORT$url" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== GET 256 px thumbnail (200, body streamed from local disk), $CONNECTIONS connections, $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$url" | grep -E 'Requests/sec|Latency|99%|Non-2xx'
echo "== GET with If-None-Match (304, browser revalidation)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "If-None-Match: $etag" "http://127.0.0.1:$PORT$url" | grep -E 'Requests/sec|Latency|99%'
