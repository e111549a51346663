"""Running the `latchkey` client commands as a subprocess against the suite's server, with a
private configuration directory, and reading their output back (JSON, and the YAML subset the
CLI emits: block mappings and sequences of plain or double-quoted scalars)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import lk

ADMIN = object()  # `token=ADMIN`: the server's bootstrap API key


@dataclass
class Result:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"latchkey {' '.join(self.args)} → exit {self.code}\nstdout: {self.stdout[:2000]}\nstderr: {self.stderr[:2000]}"


class Cli:
    def __init__(self, binary: Path, server: lk.LatchkeyServer, config_dir: Path) -> None:
        self.binary = binary
        self.server = server
        self.config_dir = config_dir

    def env(self, token: Any = ADMIN, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_")}
        env["LATCHKEY_CONFIG_DIR"] = str(self.config_dir)
        env["LATCHKEY_SERVER"] = self.server.base_url
        env["LATCHKEY_LOG"] = "warn"
        if token is ADMIN:
            env["LATCHKEY_TOKEN"] = self.server.bootstrap_key
        elif token is not None:
            env["LATCHKEY_TOKEN"] = token
        env.update(extra)
        return env

    def run(self, *args: str, token: Any = ADMIN, expect: Optional[int] = 0, stdin: Optional[str] = None, **env: str) -> Result:
        argv = [str(a) for a in args]
        p = subprocess.run(
            [str(self.binary), *argv],
            env=self.env(token, **env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
        )
        r = Result(argv, p.returncode, p.stdout, p.stderr)
        if expect is not None:
            assert r.code == expect, str(r)
        return r

    def json(self, *args: str, **kw: Any) -> Any:
        return self.run(*args, "--json", **kw).json()

    def yaml(self, *args: str, **kw: Any) -> Any:
        return parse_yaml(self.run(*args, "--output", "yaml", **kw).stdout)

    def popen(self, *args: str, token: Any = None, **env: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(self.binary), *[str(a) for a in args]],
            env=self.env(token, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


# ---------------------------------------------------------------------------------------------
# The YAML subset of the CLI's emitter, parsed independently of it
# ---------------------------------------------------------------------------------------------

_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")


def _scalar(text: str) -> Any:
    if text.startswith('"'):
        return json.loads(text)  # YAML double-quoted escapes used by the CLI are JSON's
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if _NUMBER.match(text):
        return float(text) if any(c in text for c in ".eE") else int(text)
    assert not re.match(r"^(~|yes|no|on|off|y|n|null|true|false)$", text, re.I), f"ambiguous plain scalar {text!r}"
    return text


def _key(text: str) -> tuple[str, str]:
    """Splits `key: rest` (the key plain or double-quoted)."""
    if text.startswith('"'):
        end = json.JSONDecoder().raw_decode(text)[1]
        key, rest = json.loads(text[:end]), text[end:]
    else:
        idx = text.index(":")
        key, rest = text[:idx], text[idx:]
    assert rest.startswith(":"), text
    return key, rest[1:].strip()


def parse_yaml(doc: str) -> Any:
    lines = [ln for ln in doc.split("\n") if ln.strip()]
    value, pos = _block(lines, 0, 0)
    assert pos == len(lines), f"unparsed YAML from line {pos}: {lines[pos:pos + 3]}"
    return value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block(lines: list[str], pos: int, indent: int) -> tuple[Any, int]:
    first = lines[pos][indent:]
    if _indent(lines[pos]) == indent and (first.startswith("- ") or first == "-"):
        out: list = []
        while pos < len(lines) and _indent(lines[pos]) == indent and lines[pos][indent:].startswith("-"):
            rest = lines[pos][indent + 2:]
            if rest.startswith("- ") or (":" in rest and not rest.startswith('"') and _looks_like_key(rest)) or (rest.startswith('"') and _quoted_key(rest)):
                # a nested block starting on the dash's line: re-indent it
                lines = lines[:pos] + [" " * (indent + 2) + rest] + lines[pos + 1:]
                item, pos = _block(lines, pos, indent + 2)
            else:
                item, pos = _scalar(rest), pos + 1
            out.append(item)
        return out, pos
    if _indent(lines[pos]) != indent:
        raise AssertionError(f"bad indentation at {lines[pos]!r}")
    if ":" not in first:
        return _scalar(first), pos + 1
    obj: dict = {}
    while pos < len(lines) and _indent(lines[pos]) == indent and not lines[pos][indent:].startswith("- "):
        key, rest = _key(lines[pos][indent:])
        pos += 1
        if rest:
            obj[key] = _scalar(rest)
        else:
            child = _indent(lines[pos])
            assert child > indent, lines[pos]
            obj[key], pos = _block(lines, pos, child)
    return obj, pos


def _looks_like_key(text: str) -> bool:
    idx = text.find(": ")
    return (idx > 0 or text.endswith(":")) and not text.startswith(("{", "["))


def _quoted_key(text: str) -> bool:
    try:
        end = json.JSONDecoder().raw_decode(text)[1]
    except ValueError:
        return False
    return text[end:].startswith(":")
