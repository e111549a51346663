#!/usr/bin/env bash
# Load benchmark: Latchkey vs oidc-provider, client_credentials tokens (RS256 and ES256; ES256 also
# against a build without Cedar, and with 10/100/1,000 customer policies), plus
# Latchkey's JWKS and metadata, the one-core cost of one signature, and a burst of concurrent
# wrong-password sign-ins (bench/signin_burst.py: peak/after RSS, /healthz latency during the burst,
# answers by status), and then the scale-out figure (bench/scaleout.py: 1, 2 and 3 instances on one
# PostgreSQL database, load split evenly; needs PostgreSQL and psql, else skipped). Writes bench/REPORT.md.
#
#   bench/run.sh
#
# Environment: BENCH_DURATION (s per case, 15), BENCH_CONCURRENCY (16), BENCH_WARMUP (s, 2),
# BENCH_SIGN_SECONDS (3), BENCH_PIN=1 (server on CPU 0, load generator on CPU 1), BENCH_PERF=0
# (skip the extra perf profile of Latchkey, taken when `perf` is installed), BENCH_BURST (64
# concurrent wrong-password sign-ins, from 127.0.0.2-127.0.0.5), BENCH_SCALEOUT=0 (skip the scale-out
# figure), BENCH_PG_ADMIN_URL and BENCH_SCALEOUT_ROUNDS (see bench/scaleout.py).
# Installs what it needs on first run (oha via cargo into bench/.tools, or wrk from apt;
# oidc-provider via npm ci into bench/node). All traffic goes to loopback (127.0.0.0/8).
# Every cargo command holds /tmp/latchkey-cargo.lock (flock; BENCH_CARGO_LOCK names another, for a
# caller that holds that lock around the whole run to keep the machine quiet), so builds on this shared machine
# do not run concurrently with other engineers' cargo commands.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
TOOLS="$BENCH/.tools"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '[bench] %s\n' "$*" >&2; }
CARGO_LOCK="${BENCH_CARGO_LOCK:-/tmp/latchkey-cargo.lock}"
locked_cargo() { flock "$CARGO_LOCK" cargo "$@"; }

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        say "need $* but not root; install it and rerun"; exit 1
    fi
    if [ -z "${APT_UPDATED:-}" ]; then
        apt-get update -qq >&2; APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- tools ---------------------------------------------------------------------------------
for t in curl python3 openssl taskset flock; do
    if ! command -v "$t" >/dev/null; then
        case "$t" in
            taskset|flock) apt_install util-linux ;;
            *) apt_install "$t" ;;
        esac
    fi
done
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
fi
command -v cargo >/dev/null || { say "cargo (Rust toolchain) is required"; exit 1; }

LOADGEN="" LOADGEN_KIND=""
if [ -x "$TOOLS/bin/oha" ]; then
    LOADGEN="$TOOLS/bin/oha"
elif command -v oha >/dev/null; then
    LOADGEN="$(command -v oha)"
else
    say "installing oha (first run only): cargo install oha --locked --root $TOOLS"
    if locked_cargo install oha --locked --root "$TOOLS" >&2; then
        LOADGEN="$TOOLS/bin/oha"
    fi
fi
if [ -n "$LOADGEN" ]; then
    LOADGEN_KIND=oha
else
    say "oha unavailable; falling back to wrk from Debian"
    command -v wrk >/dev/null || apt_install wrk
    LOADGEN="$(command -v wrk)" LOADGEN_KIND=wrk
fi

# --- oidc-provider ---------------------------------------------------------------------------
# npm ci reinstalls exactly package-lock.json; skip it when node_modules already matches.
if ! cmp -s "$BENCH/node/package-lock.json" "$BENCH/node/node_modules/.package-lock.json.bench" 2>/dev/null; then
    say "installing oidc-provider (npm ci in bench/node)"
    (cd "$BENCH/node" && npm ci --no-audit --no-fund --loglevel=error >&2)
    cp "$BENCH/node/package-lock.json" "$BENCH/node/node_modules/.package-lock.json.bench"
fi

# --- builds ----------------------------------------------------------------------------------
# The baseline first: the same server built with `bench-without-cedar` (issuance never evaluates
# policies), kept aside, so the report can give Cedar's own cost per token. Then the real build.
mkdir -p "$BENCH/.out"
say "cargo build --release -p latchkey-server --features bench-without-cedar (baseline)"
(cd "$ROOT" && locked_cargo build --release -p latchkey-server --features bench-without-cedar)
cp "$ROOT/target/release/latchkey" "$BENCH/.out/latchkey-without-cedar"
say "cargo build --release -p latchkey-server"
(cd "$ROOT" && locked_cargo build --release -p latchkey-server)
say "Cedar engine cost per decision, no memo (cargo test --release -p latchkey-policy print_authorize_cost)"
(cd "$ROOT" && locked_cargo test --release -p latchkey-policy --lib -- --ignored --nocapture \
    --exact authorize::timing::print_authorize_cost) > "$BENCH/.out/cedar-engine.txt"
say "cargo build --release (bench/sign-cost)"
locked_cargo build --release --manifest-path "$BENCH/sign-cost/Cargo.toml"

# --- run -------------------------------------------------------------------------------------
export BENCH_LOADGEN="$LOADGEN" BENCH_LOADGEN_KIND="$LOADGEN_KIND"
python3 "$BENCH/bench.py"
# Scale-out (issue 13): 1, 2, 3 instances on one PostgreSQL database. After bench.py, which
# rewrites REPORT.md; scaleout.py replaces only its own section.
PG_ADMIN="${BENCH_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ "${BENCH_SCALEOUT:-1}" = 0 ]; then
    say "BENCH_SCALEOUT=0: skipping bench/scaleout.py"
elif command -v psql >/dev/null && psql "$PG_ADMIN" -Atc 'select 1' >/dev/null 2>&1; then
    python3 "$BENCH/scaleout.py"
else
    say "PostgreSQL not reachable with psql at $PG_ADMIN: skipping bench/scaleout.py"
fi
