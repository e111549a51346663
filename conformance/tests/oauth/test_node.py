"""Node `openid-client` v6 and `jose` against the zone: runs `node --test` in conformance/node with
the zones, applications and credentials made here passed as LK_* environment variables
(conformance/node/oauth.test.mjs holds the checks). `run.sh` installs conformance/node/node_modules
with `npm ci`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from joserfc.jwk import RSAKey

from .kit import JsonServer, OAuthZone

NODE_DIR = Path(__file__).resolve().parents[2] / "node"


def test_openid_client_and_jose(oz: OAuthZone, fresh_zone, json_server: JsonServer):
    node = shutil.which("node")
    assert node, "node is not installed"
    assert (NODE_DIR / "node_modules" / "openid-client").is_dir(), (
        f"{NODE_DIR}/node_modules is missing: run conformance/run.sh (it runs `npm ci` there)"
    )

    api = oz.resource(scopes=["read", "write"])
    svc = oz.service(depends_on=[api])
    enc = oz.credential(svc.app, "password", identifier=f"node client+{uuid.uuid4().hex[:6]}")
    key = RSAKey.generate_key(2048, {"kid": "node-" + uuid.uuid4().hex[:8], "alg": "RS256", "use": "sig"})
    jwks_uri = json_server.publish(f"/node-{uuid.uuid4().hex[:8]}/jwks", {"keys": [key.as_dict(private=False)]})
    pk_id = f"node-pk-{uuid.uuid4().hex[:8]}"
    oz.credential(svc.app, "public-key", identifier=pk_id, jwks_uri=jwks_uri)

    downstream = oz.resource()
    server = oz.service(depends_on=[downstream])
    owned = oz.resource(owner=server)
    caller = oz.service(depends_on=[owned])

    logout_back = f"https://rp-{uuid.uuid4().hex[:8]}.example/signed-out"
    logout_app = oz.app(protocols={"oauth2": {"redirect_uris": ["https://rp.example/cb"],
                                              "post_logout_redirect_uris": [logout_back]}})
    logout_client = oz.credential(logout_app, "public")

    es = fresh_zone(extra_body={"signing_alg": "ES256"})
    es_api = es.resource()
    es_svc = es.service(depends_on=[es_api])

    env = {
        **os.environ,
        "LK_ISSUER": oz.issuer,
        "LK_RESOURCE": api.identifier,
        "LK_SCOPE": "read",
        "LK_CLIENT_ID": svc.client_id,
        "LK_CLIENT_SECRET": svc.secret,
        "LK_APP_IDENTIFIER": svc.identifier,
        "LK_ENC_CLIENT_ID": enc.identifier,
        "LK_ENC_CLIENT_SECRET": enc.password,
        "LK_PK_CLIENT_ID": pk_id,
        "LK_PK_PRIVATE_JWK": json.dumps(key.as_dict(private=True)),
        "LK_TX_CLIENT_ID": server.client_id,
        "LK_TX_CLIENT_SECRET": server.secret,
        "LK_TX_SUBJECT_TOKEN": oz.cc_token(caller, owned),
        "LK_TX_SUBJECT": caller.identifier,
        "LK_TX_RESOURCE": downstream.identifier,
        "LK_TX_ACTOR": server.identifier,
        "LK_ES_ISSUER": es.issuer,
        "LK_ES_CLIENT_ID": es_svc.client_id,
        "LK_ES_CLIENT_SECRET": es_svc.secret,
        "LK_ES_RESOURCE": es_api.identifier,
        "LK_LOGOUT_CLIENT_ID": logout_client.identifier,
        "LK_LOGOUT_REDIRECT": logout_back,
        "LK_BROWSER_REDIRECT": "https://rp.example/cb",
    }
    try:
        run = subprocess.run(
            [node, "--test", "--test-reporter=spec", "oauth.test.mjs"],
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"node --test did not finish in 120 s\n{e.stdout}\n{e.stderr}")
    report = f"node --test exited {run.returncode}\n--- stdout ---\n{run.stdout}\n--- stderr ---\n{run.stderr}"
    assert run.returncode == 0, report
    assert "# fail 0" in run.stdout or "ℹ fail 0" in run.stdout, report
    assert "# pass 0" not in run.stdout and "ℹ pass 0" not in run.stdout, report
