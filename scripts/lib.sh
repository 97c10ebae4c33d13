# Helpers sourced by the other scripts: background services with pid files under .local/.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where a local stack keeps its pid files, logs and settings; a second stack beside the first
# (scripts/smoke's, beside a running scripts/dev) names another with LOCAL_STATE.
STATE="${LOCAL_STATE:-$ROOT/.local}"
mkdir -p "$STATE"
# The project's Python tools (scripts/bootstrap puts them in .venv) come first.
export PATH="$ROOT/.venv/bin:$PATH"
# Every binary the local stack runs (the functions, the table's creation, the stream poller, the
# doctor) comes out of one `cargo build` of the whole workspace with these features; `cargo lambda
# watch` and scripts/doctor ask for the same, so they find it built and compile nothing again.
STACK_FEATURES="shared/local,setup/doctor"
DEBUG_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
build_stack() { cargo build --quiet --workspace --bins --features "$STACK_FEATURES"; }

# start NAME PORT COMMAND...: runs COMMAND in the background (log in .local/NAME.log), then
# waits until PORT accepts connections. If PORT is already answering, it must be NAME as these
# scripts started it (its pid file names a live process); anything else there is refused, so a
# stale or foreign server is never silently taken for ours.
start() {
  local name=$1 port=$2; shift 2
  if port_open "$port"; then
    if [ -f "$STATE/$name.pid" ] && kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null; then
      echo "$name: already running on $port"
      return 0
    fi
    echo "$name: port $port is taken by a process these scripts did not start; stop it first" >&2
    return 1
  fi
  setsid "$@" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/$name.pid"
  for _ in $(seq 1 120); do
    if port_open "$port"; then echo "$name: listening on $port"; return 0; fi
    if ! kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "$name did not start; its log follows" >&2
  cat "$STATE/$name.log" >&2
  return 1
}

stop() {
  local name=$1 pid
  [ -f "$STATE/$name.pid" ] || return 0
  pid=$(cat "$STATE/$name.pid")
  kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
  rm -f "$STATE/$name.pid"
}

# start_background NAME COMMAND...: runs COMMAND in the background (log in .local/NAME.log) for
# a process that listens on no port; it must still be running a moment later.
start_background() {
  local name=$1; shift
  if [ -f "$STATE/$name.pid" ] && kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null; then
    echo "$name: already running"
    return 0
  fi
  setsid "$@" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/$name.pid"
  sleep 1
  if ! kill -0 "$(cat "$STATE/$name.pid")" 2>/dev/null; then
    echo "$name did not start; its log follows" >&2
    cat "$STATE/$name.log" >&2
    return 1
  fi
  echo "$name: running"
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Credentials and region for the local DynamoDB-API server (it accepts any).
local_aws_env() {
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  export AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0
}

# stack_env FILE DYNAMO_PORT VONAGE_PORT TABLE LOG_LEVEL [EVENTS_PORT]: writes the functions'
# environment for a local stack (the DynamoDB-API server and Vonage stand-in on those ports, and
# EventBridge and SQS on EVENTS_PORT, by default the DynamoDB-API server's) to FILE.
# Signature checks are off here, for the benchmarks' unsigned requests; scripts/dev turns them on.
stack_env() {
  cat >"$1" <<ENV
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$2
AWS_ENDPOINT_URL_DYNAMODB_STREAMS=http://127.0.0.1:$2
AWS_ENDPOINT_URL_EVENTBRIDGE=http://127.0.0.1:${6:-$2}
AWS_ENDPOINT_URL_SQS=http://127.0.0.1:${6:-$2}
AWS_ENDPOINT_URL_S3=http://127.0.0.1:$2
RECORDINGS_BUCKET=voice-proxy-recordings
EVENT_BUS_NAME=voice-proxy-events
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
TABLE_NAME=$4
VONAGE_API_KEY=abcd1234
VONAGE_API_SECRET=abcdef0123456789
VONAGE_APPLICATION_ID=aaaaaaaa-bbbb-cccc-dddd-0123456789ab
VONAGE_NUMBER_INSIGHT_URL=http://127.0.0.1:$3/ni
VONAGE_IDENTITY_INSIGHTS_URL=http://127.0.0.1:$3/identity-insights/v1
VONAGE_SMS_URL=http://127.0.0.1:$3/sms
VONAGE_MESSAGES_URL=http://127.0.0.1:$3/v1
VONAGE_NUMBERS_URL=http://127.0.0.1:$3
VONAGE_VOICE_URL=http://127.0.0.1:$3/v1/calls
VONAGE_FILES_URL=http://127.0.0.1:$3/v1/files
WEBHOOK_SIGNATURES=off
WEBHOOK_METHODS=any
RUST_LOG=$5
ENV
  # The backend's hooks, when the caller's environment names them.
  local name
  for name in OUT_OF_SESSION_URL INTERCEPT_URL HOOK_SECRET HOOK_TIMEOUT_MS; do
    if [ -n "${!name:-}" ]; then echo "$name=${!name}" >>"$1"; fi
  done
}

# show_command WORD...: prints a command as one line a shell could run (scripts/deploy and
# scripts/destroy's --dry-run): a word in single quotes when it holds anything but
# [A-Za-z0-9_./:=,@%+-].
show_command() {
  local w out=""
  for w in "$@"; do
    if [[ -z $w || $w == *[^A-Za-z0-9_./:=,@%+-]* ]]; then w="'${w//\'/\'\\\'\'}'"; fi
    out+="${out:+ }$w"
  done
  echo "$out"
}

# default_region: the region when none was given, AWS_REGION, AWS_DEFAULT_REGION, else the AWS
# CLI's configured one (empty when there is none).
default_region() {
  local region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
  if [ -z "$region" ] && command -v aws >/dev/null; then region=$(aws configure get region 2>/dev/null || true); fi
  echo "$region"
}
