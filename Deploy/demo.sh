#!/usr/bin/env bash
# The README's first command: shows the leak and the guard, with no AWS account.
#
# It installs what it needs (Deploy/dev-setup.sh), builds costguard, starts the AWS emulator (moto, pinned in
# Tests/requirements.txt) on 127.0.0.1, runs five Step Functions pipelines that create EMR clusters — one stopped,
# one failed, one timed out, one healthy, one still running — shows the clusters the ended ones left running, runs
# `costguard reconcile --dry-run`, then the real pass, then `costguard report`, and cleans up everything it
# started, also on Ctrl-C. It never talks to a real AWS account: every address is loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

bold() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
[ -t 1 ] && [ -z "${NO_COLOR:-}" ] || bold() { printf '\n==> %s\n' "$*"; }

# COSTGUARD_BIN=path skips the set-up and the build (the test suite runs the demo against its own build).
if [ -n "${COSTGUARD_BIN:-}" ]; then
    costguard="$COSTGUARD_BIN"
else
    bold "Setting up (Debian packages and the emulator's Python environment, if missing)"
    bash Deploy/dev-setup.sh
    command -v swift >/dev/null 2>&1 || export PATH="/opt/swift/usr/bin:$PATH"
    bold "Building costguard (the first build takes a few minutes)"
    swift build --product costguard 2>&1 | grep -E "error:|Build complete" || true
    costguard="$(swift build --show-bin-path)/costguard"
fi
[ -x "$costguard" ] || { echo "the build failed; run 'swift build' to see why" >&2; exit 1; }

work="$(mktemp -d -t costguard-demo.XXXXXX)"
emulator_pid=""
cleanup() {
    if [ -n "$emulator_pid" ] && kill -0 "$emulator_pid" 2>/dev/null; then
        kill "$emulator_pid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$emulator_pid" 2>/dev/null || break; sleep 0.3; done
        kill -9 "$emulator_pid" 2>/dev/null || true
        wait "$emulator_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "interrupted: stopping the emulator and removing $work"; exit 130' INT TERM

python=.venv-test/bin/python
port=""
for candidate in $(shuf -i 20000-31999 -n 20); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then port=$candidate; break; fi
done
[ -n "$port" ] || { echo "no free loopback port found" >&2; exit 1; }
endpoint="http://127.0.0.1:$port"

bold "Starting the AWS emulator on $endpoint (real Step Functions executions, EMR emulated)"
# The emulator answers /costguard-emulator-id with this id: a server another process started on the same port
# (both found it free) is never taken for ours.
emulator_id="demo-$$-$RANDOM$RANDOM"
COSTGUARD_EMULATOR_ID="$emulator_id" "$python" Tests/Emulator/costguard_emulator.py serve --port "$port" \
    > "$work/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 120); do
    if "$python" -c "import urllib.request,sys; sys.exit(urllib.request.urlopen(sys.argv[1] + '/costguard-emulator-id', timeout=1).read().decode() != sys.argv[2])" "$endpoint" "$emulator_id" 2>/dev/null; then
        break
    fi
    kill -0 "$emulator_pid" 2>/dev/null || { cat "$work/emulator.log" >&2; exit 1; }
    printf '.'
    sleep 0.5
done
echo " ready"

# Only the emulator, whatever the user's own AWS set-up says.
export AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE 2>/dev/null || true
ledger="$work/ledger.sqlite"

bold "Running five EMR pipelines (createCluster.sync → addStep.sync → terminateCluster.sync)"
"$python" Tests/Emulator/demo_workflows.py deploy --endpoint "$endpoint"

bold "The leak: three workflows ended, and their clusters are still up (and billing)"
"$python" Tests/Emulator/demo_workflows.py clusters --endpoint "$endpoint"
cat <<'EOF'

  Step Functions does not terminate an EMR cluster when the execution is stopped, fails or times out,
  and no Catch runs on StopExecution or an execution-level timeout.
EOF

bold "costguard reconcile --dry-run   (the grace period is set to 0s for the demo; the default is 15m)"
set +e
"$costguard" reconcile --database "$ledger" --grace 0s --redrive-grace 0s --dry-run
status=$?
set -e
case $status in
    3) echo "  exit status 3: orphans remain that were not terminated (a dry run changes nothing)" ;;
    *) echo "  unexpected exit status $status" >&2; exit 1 ;;
esac

bold "costguard report   (from the ledger alone: what leaks, since when, at what cost)"
NO_COLOR=${NO_COLOR:-} "$costguard" report --database "$ledger"

bold "costguard reconcile   (re-checks each orphan, journals the intent, calls TerminateJobFlows, journals the outcome)"
set +e
"$costguard" reconcile --database "$ledger" --grace 0s --redrive-grace 0s
status=$?
set -e
case $status in
    0) echo "  exit status 0: nothing needs attention" ;;
    3) echo "  exit status 3: orphans remain that CostGuard left alone on purpose (report-only: a SUCCEEDED run)" ;;
    *) echo "  unexpected exit status $status" >&2; exit 1 ;;
esac

bold "After the pass: the orphans are terminating; the healthy and the running pipelines were not touched"
"$python" Tests/Emulator/demo_workflows.py clusters --endpoint "$endpoint"

bold "costguard report --all"
"$costguard" report --database "$ledger" --all --sort name

bold "costguard journal   (the audit trail: an intent before every call, an outcome after it)"
"$costguard" journal --database "$ledger"

cat <<'EOF'

Where to go next:
  README.md                   how it works, the safety model, configuration, exit codes
  Deploy/costguard.toml       every setting, with its default
  costguard doctor            check your own AWS set-up (region, credentials, IAM permissions)
  costguard reconcile --help  run it against your account, with --dry-run first
EOF
