#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, Rust tests on SQLite and PostgreSQL,
# then the conformance suite (official Keycard SDKs against the real binary, both back ends).
# Needs: the Rust toolchain, python3, and PostgreSQL on 127.0.0.1:5432 (user postgres, trust
# auth; override with LATCHKEY_TEST_POSTGRES_URL). Everything else it installs itself.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

pg_url="${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export LATCHKEY_TEST_POSTGRES_URL="$pg_url" LATCHKEY_CONFORMANCE_PG_URL="$pg_url"
if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    step "PostgreSQL is not answering; trying to start the local cluster"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi

step "cargo fmt --check"
cargo fmt --all --check

step "layering: crates/domain, crates/crypto, crates/oauth, crates/policy and crates/cli depend on neither axum nor sqlx; crates/cli not on latchkey-server"
for crate in latchkey-domain latchkey-crypto latchkey-oauth latchkey-policy latchkey-cli; do
    if cargo tree -p "$crate" -e normal --prefix none --locked | grep -Eq '^(axum|sqlx|latchkey-server)[a-z-]* v'; then
        echo "$crate must not depend on axum, sqlx or latchkey-server:" >&2
        cargo tree -p "$crate" -e normal -i axum --locked 2>/dev/null | head -5 >&2 || true
        exit 1
    fi
done

step "no import cycles between modules (scripts/module_cycles.py)"
python3 scripts/module_cycles.py crates/*/

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test (unit, HTTP, store suite on SQLite and PostgreSQL)"
cargo test --workspace --locked

step "cargo build (binary for the conformance suite)"
cargo build -p latchkey-server --locked

step "conformance suite (keycardai-api SDK against the real binary, SQLite and PostgreSQL)"
LATCHKEY_BIN=target/debug/latchkey conformance/run.sh
