#!/usr/bin/env bash
# Runs the Latchkey conformance suite against a built `latchkey` binary.
#
#   LATCHKEY_BIN=target/debug/latchkey conformance/run.sh [pytest args...]
#   LATCHKEY_BIN=target/debug/latchkey conformance/run.sh tests/security -x   # paths relative to conformance/
#
# Creates conformance/.venv on first use and installs conformance/requirements.txt into it.
# Does not build the binary. Environment:
#   LATCHKEY_BIN                    binary to test (default: target/debug/latchkey, relative to the repo root)
#   LATCHKEY_CONFORMANCE_BACKENDS   comma-separated backends to run (default: sqlite,postgres)
#   LATCHKEY_CONFORMANCE_PG_URL     admin URL used to create/drop the throw-away databases
#                                   (default: postgres://postgres@127.0.0.1:5432/postgres)
#   LATCHKEY_E2E_CHROMIUM           Chromium for tests/e2e (default: /usr/bin/chromium, installed when missing)
#   LATCHKEY_E2E_BROWSER_BACKENDS   comma-separated backends the tests/e2e browser tests run on (default: all)
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

# The end-to-end login tests (tests/e2e) run an upstream OpenID provider (oidc-provider) and drive
# headless Chromium (playwright-core, which never downloads a browser) from conformance/e2e-node,
# with Debian's chromium as the browser. Both installed only when missing or changed.
e2e_dir="$here/e2e-node"
if [[ -f "$e2e_dir/package-lock.json" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "run.sh: npm not found; the conformance/e2e-node tests need node >= 20 and npm" >&2
        exit 2
    fi
    e2e_stamp="$e2e_dir/node_modules/.package-lock.sha256"
    e2e_want="$(sha256sum "$e2e_dir/package-lock.json" | cut -d' ' -f1)"
    (
        flock 9
        if [[ ! -f "$e2e_stamp" || "$(cat "$e2e_stamp")" != "$e2e_want" ]]; then
            cd "$e2e_dir"
            npm ci --no-audit --no-fund --loglevel=error
            echo "$e2e_want" > "$e2e_stamp"
        fi
    ) 9>"$venv/.node-install.lock"
fi
if [[ -z "${LATCHKEY_E2E_CHROMIUM:-}" ]] && ! command -v chromium >/dev/null 2>&1; then
    (
        flock 9
        if ! command -v chromium >/dev/null 2>&1; then
            if [[ "$(id -u)" == 0 ]]; then
                echo "run.sh: installing Debian's chromium for tests/e2e" >&2
                (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) >/dev/null \
                    || echo "run.sh: could not install chromium; the tests/e2e browser tests will fail" >&2
            else
                echo "run.sh: chromium not found and not root; the tests/e2e browser tests will fail" >&2
            fi
        fi
    ) 9>"$venv/.chromium-install.lock"
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

# Test paths among the arguments (`tests/security`, `tests/test_zones.py::test_x`) are relative to
# conformance/ and replace the default of the whole suite.
args=()
paths=0
for a in "$@"; do
    if [[ "$a" != -* && -e "$here/${a%%::*}" ]]; then
        args+=("$here/$a")
        paths=1
    else
        args+=("$a")
    fi
done
if (( ! paths )); then
    args=("$here/tests" "${args[@]}")
fi

cd "$root"
exec "$venv/bin/python" -m pytest -c "$here/pytest.ini" --rootdir "$here" "${args[@]}"
