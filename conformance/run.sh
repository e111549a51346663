#!/usr/bin/env bash
# Runs the Latchkey conformance suite against a built `latchkey` binary.
#
#   LATCHKEY_BIN=target/debug/latchkey conformance/run.sh [pytest args...]
#
# Creates conformance/.venv on first use and installs conformance/requirements.txt into it.
# Does not build the binary. Environment:
#   LATCHKEY_BIN                    binary to test (default: target/debug/latchkey, relative to the repo root)
#   LATCHKEY_CONFORMANCE_BACKENDS   comma-separated backends to run (default: sqlite,postgres)
#   LATCHKEY_CONFORMANCE_PG_URL     admin URL used to create/drop the throw-away databases
#                                   (default: postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
# Reinstall only when requirements.txt changed since the last successful install.
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    echo "$want" > "$stamp"
fi

# Node dependencies (openid-client, jose) of the node tests in conformance/node, which
# tests/oauth/test_node.py runs with `node --test`. Reinstalled only when package-lock.json changed.
node_dir="$here/node"
if [[ -f "$node_dir/package-lock.json" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "run.sh: npm not found; the conformance/node tests need node >= 20 and npm" >&2
        exit 2
    fi
    node_stamp="$node_dir/node_modules/.package-lock.sha256"
    node_want="$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"
    # (locked: two runs sharing a work tree must not run `npm ci` in the same folder at once)
    (
        flock 9
        if [[ ! -f "$node_stamp" || "$(cat "$node_stamp")" != "$node_want" ]]; then
            cd "$node_dir"
            npm ci --no-audit --no-fund --loglevel=error
            echo "$node_want" > "$node_stamp"
        fi
    ) 9>"$venv/.node-install.lock"
fi

bin="${LATCHKEY_BIN:-target/debug/latchkey}"
case "$bin" in
    /*) ;;
    *) bin="$root/$bin" ;;
esac
if [[ ! -x "$bin" ]]; then
    echo "run.sh: latchkey binary not found or not executable: $bin (build it first, e.g. cargo build -p latchkey-server)" >&2
    exit 2
fi
export LATCHKEY_BIN="$bin"

cd "$root"
exec "$venv/bin/python" -m pytest -c "$here/pytest.ini" --rootdir "$here" "$here/tests" "$@"
