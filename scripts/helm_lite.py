"""A renderer for the part of Helm's templates that deploy/helm/latchkey uses, so that
scripts/check_deploy.py can check the chart where `helm` is not installed.

Supported (and nothing else: anything outside it is a `TemplateError`, never silently skipped):
  actions     {{ pipeline }}, {{- … -}} whitespace trimming, {{/* comments */}},
              {{ if }} / {{ else if }} / {{ else }} / {{ end }}, {{ define "name" }} … {{ end }}
  operands    .Values.a.b, .Release.Name/Namespace/Service, .Chart.Name/Version/AppVersion, `.`,
              "strings", numbers, true/false/nil, ( sub-pipelines )
  functions   include, toYaml, nindent, indent, quote, default, trunc, trimSuffix, printf
              (%s %v %d), required, fail, not, and, or, eq, ne, contains
As in Helm: `.Values` comes from values.yaml with overrides merged in, `toYaml` sorts keys, a
missing value prints as nothing, and a field of a missing map is an error.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import yaml


class TemplateError(Exception):
    """A template the renderer cannot or must not render (syntax, unsupported, `fail`/`required`)."""


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.S)
_NO_ARG = object()
_UNSUPPORTED = ("with", "range", "template", "block", "break", "continue")


# ------------------------------------------------------------------------------------------
# Lexing and parsing
# ------------------------------------------------------------------------------------------


def _lex(src: str, name: str) -> list[tuple[str, str]]:
    """Text and action pieces, with `{{-` / `-}}` trimming applied to the neighbouring text."""
    pieces: list[tuple[str, str]] = []
    pos = 0
    trim_next = False
    for m in _ACTION.finditer(src):
        text = src[pos : m.start()]
        if trim_next:
            text = text.lstrip()
        if m.group(1):
            text = text.rstrip()
        pieces.append(("text", text))
        body = m.group(2).strip()
        if "{{" in body:
            raise TemplateError(f"{name}: unbalanced `{{{{` near `{body[:40]}`")
        pieces.append(("action", body))
        trim_next = bool(m.group(3))
        pos = m.end()
    rest = src[pos:]
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"{name}: unbalanced template delimiters near `{rest.strip()[:40]}`")
    pieces.append(("text", rest.lstrip() if trim_next else rest))
    return pieces


def _parse(pieces: list[tuple[str, str]], name: str, defines: dict[str, list]) -> list:
    """Nodes: ("text", s) | ("expr", pipeline) | ("if", [(cond, nodes)…], else_nodes)."""
    pos = 0

    def block(top: bool) -> tuple[list, str]:
        nonlocal pos
        nodes: list = []
        while pos < len(pieces):
            kind, body = pieces[pos]
            pos += 1
            if kind == "text":
                if body:
                    nodes.append(("text", body))
                continue
            if body.startswith("/*"):
                if not body.endswith("*/"):
                    raise TemplateError(f"{name}: unterminated comment")
                continue
            word = body.split(None, 1)[0] if body else ""
            if word in ("end", "else"):
                if top:
                    raise TemplateError(f"{name}: `{{{{ {body} }}}}` without an open block")
                return nodes, body
            if word in _UNSUPPORTED or body.startswith("$"):
                raise TemplateError(f"{name}: `{body}` is outside the supported template subset")
            if word == "define":
                if not top:
                    raise TemplateError(f"{name}: define inside a block")
                define_name = _string_literal(body[len("define") :].strip(), name)
                inner, end = block(False)
                if end != "end":
                    raise TemplateError(f"{name}: define {define_name!r} has an else")
                defines[define_name] = inner
                continue
            if word == "if":
                branches = []
                cond = _parse_pipeline(body[2:], name)
                while True:
                    inner, end = block(False)
                    branches.append((cond, inner))
                    if end == "end":
                        nodes.append(("if", branches, []))
                        break
                    if end.startswith("else if "):
                        cond = _parse_pipeline(end[len("else if ") :], name)
                        continue
                    if end != "else":
                        raise TemplateError(f"{name}: unexpected `{end}`")
                    else_nodes, end = block(False)
                    if end != "end":
                        raise TemplateError(f"{name}: `{end}` after else")
                    nodes.append(("if", branches, else_nodes))
                    break
                continue
            nodes.append(("expr", _parse_pipeline(body, name)))
        if not top:
            raise TemplateError(f"{name}: missing {{{{ end }}}}")
        return nodes, ""

    nodes, _ = block(True)
    return nodes


def _string_literal(text: str, name: str) -> str:
    if not (len(text) >= 2 and text[0] == text[-1] == '"'):
        raise TemplateError(f"{name}: expected a quoted name, got `{text}`")
    return json.loads(text)


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<field>\.[A-Za-z0-9_.]*)'
    r"|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[()|]))"
)


def _parse_pipeline(src: str, name: str) -> list:
    """A pipeline: a list of commands; a command: a list of operands."""
    tokens = []
    pos = 0
    src = src.strip()
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m or m.end() == pos:
            raise TemplateError(f"{name}: cannot read `{src[pos:pos + 30]}` in `{src}`")
        pos = m.end()
        tokens.append((m.lastgroup, m.group(m.lastgroup)))
    at = 0

    def pipeline(nested: bool) -> list:
        nonlocal at
        commands: list = [[]]
        while at < len(tokens):
            kind, text = tokens[at]
            at += 1
            if kind == "punct" and text == ")":
                if not nested:
                    raise TemplateError(f"{name}: unbalanced `)` in `{src}`")
                break
            if kind == "punct" and text == "|":
                commands.append([])
            elif kind == "punct" and text == "(":
                commands[-1].append(("pipe", pipeline(True)))
            elif kind == "str":
                commands[-1].append(("lit", json.loads(text)))
            elif kind == "num":
                commands[-1].append(("lit", float(text) if "." in text else int(text)))
            elif kind == "ident" and text in ("true", "false", "nil"):
                commands[-1].append(("lit", {"true": True, "false": False, "nil": None}[text]))
            else:
                commands[-1].append((kind, text))
        else:
            if nested:
                raise TemplateError(f"{name}: missing `)` in `{src}`")
        if any(not c for c in commands):
            raise TemplateError(f"{name}: empty command in `{src}`")
        return commands

    return pipeline(False)


# ------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------


def truthy(value: Any) -> bool:
    """Go templates' truth: false, 0, nil and empty strings, lists and maps are false."""
    return not (value is None or value is False or value == 0 or value in ("", [], {}))


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        raise TemplateError(f"{where}: printing a map or list; use toYaml")
    return str(value)


def _printf(fmt: str, *args: Any) -> str:
    values = iter(args)

    def one(m: re.Match) -> str:
        if m.group(0) == "%%":
            return "%"
        try:
            return _text(next(values), "printf")
        except StopIteration:
            raise TemplateError(f"printf {fmt!r}: too few arguments") from None

    out = re.sub(r"%[svd%]", one, fmt)
    if re.search(r"%[^svd%]", fmt):
        raise TemplateError(f"printf {fmt!r}: only %s, %v and %d are supported")
    return out


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=True).rstrip("\n").removesuffix("\n...")


def _indent(n: int, s: str) -> str:
    pad = " " * n
    return pad + _text(s, "indent").replace("\n", "\n" + pad)


def _required(msg: str, value: Any) -> Any:
    if value is None or value == "":
        raise TemplateError(msg)
    return value


def _fail(msg: str) -> Any:
    raise TemplateError(msg)


def _and(*args: Any) -> Any:
    for a in args:
        if not truthy(a):
            return a
    return args[-1]


def _or(*args: Any) -> Any:
    for a in args:
        if truthy(a):
            return a
    return args[-1]


class Chart:
    """One chart directory: its Chart.yaml, values.yaml and templates/."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        meta = yaml.safe_load((self.dir / "Chart.yaml").read_text()) or {}
        self.meta = {"Name": meta.get("name"), "Version": meta.get("version"), "AppVersion": meta.get("appVersion")}
        self.values = yaml.safe_load((self.dir / "values.yaml").read_text()) or {}
        self.defines: dict[str, list] = {}
        self.templates: dict[str, list] = {}
        for path in sorted((self.dir / "templates").iterdir()):
            if not path.is_file():
                continue
            nodes = _parse(_lex(path.read_text(), path.name), path.name, self.defines)
            if not path.name.startswith("_"):
                self.templates[path.name] = nodes
        self.functions: dict[str, Callable[..., Any]] = {
            "include": self._include,
            "toYaml": _to_yaml,
            "nindent": lambda n, s: "\n" + _indent(n, s),
            "indent": _indent,
            "quote": lambda *a: " ".join(json.dumps(_text(v, "quote")) for v in a if v is not None),
            "default": lambda d, *v: v[0] if v and truthy(v[0]) else d,
            "trunc": lambda n, s: _text(s, "trunc")[:n],
            "trimSuffix": lambda suf, s: _text(s, "trimSuffix").removesuffix(suf),
            "printf": _printf,
            "required": _required,
            "fail": _fail,
            "not": lambda v: not truthy(v),
            "and": _and,
            "or": _or,
            "eq": lambda a, b: a == b,
            "ne": lambda a, b: a != b,
            "contains": lambda sub, s: _text(sub, "contains") in _text(s, "contains"),
        }

    def render(self, overrides: dict | None = None, release: str = "latchkey", namespace: str = "default") -> dict[str, str]:
        """Renders every template (NOTES.txt included) to text, by file name."""
        values = merge(self.values, overrides or {})
        dot = {
            "Values": values,
            "Release": {"Name": release, "Namespace": namespace, "Service": "Helm", "IsInstall": True},
            "Chart": self.meta,
        }
        return {name: self._nodes(nodes, dot, name) for name, nodes in self.templates.items()}

    def _include(self, name: str, dot: Any) -> str:
        if name not in self.defines:
            raise TemplateError(f"include of undefined template {name!r}")
        return self._nodes(self.defines[name], dot, name)

    def _nodes(self, nodes: list, dot: Any, where: str) -> str:
        out = []
        for node in nodes:
            if node[0] == "text":
                out.append(node[1])
            elif node[0] == "expr":
                out.append(_text(self._pipeline(node[1], dot, where), where))
            else:
                for cond, body in node[1]:
                    if truthy(self._pipeline(cond, dot, where)):
                        out.append(self._nodes(body, dot, where))
                        break
                else:
                    out.append(self._nodes(node[2], dot, where))
        return "".join(out)

    def _pipeline(self, commands: list, dot: Any, where: str) -> Any:
        value: Any = _NO_ARG
        for command in commands:
            value = self._command(command, dot, value, where)
        return value

    def _command(self, command: list, dot: Any, piped: Any, where: str) -> Any:
        kind, text = command[0]
        if kind == "ident":
            if text not in self.functions:
                raise TemplateError(f"{where}: function `{text}` is outside the supported subset")
            args = [self._operand(o, dot, where) for o in command[1:]]
            if piped is not _NO_ARG:
                args.append(piped)
            try:
                return self.functions[text](*args)
            except TypeError as e:
                raise TemplateError(f"{where}: {text}: wrong arguments ({e})") from None
        if len(command) > 1 or piped is not _NO_ARG:
            raise TemplateError(f"{where}: `{text}` is not a function and takes no arguments")
        return self._operand(command[0], dot, where)

    def _operand(self, operand: tuple, dot: Any, where: str) -> Any:
        kind, payload = operand
        if kind == "lit":
            return payload
        if kind == "pipe":
            return self._pipeline(payload, dot, where)
        if kind == "field":
            value = dot
            for part in [p for p in payload.split(".") if p]:
                if not isinstance(value, dict):
                    raise TemplateError(f"{where}: `{payload}`: nil pointer evaluating `.{part}`")
                value = value.get(part)
            return value
        raise TemplateError(f"{where}: function `{payload}` used as a value")


def merge(base: Any, over: Any) -> Any:
    """Deep merge of `over` into a copy of `base` (maps merge; anything else replaces)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(base.get(k), v)
        return out
    return over


def set_value(tree: dict, dotted: str, raw: str) -> dict:
    """Applies one `--set a.b=raw` the way helm types it (true/false, integers, null, strings)."""
    if raw in ("true", "false"):
        value: Any = raw == "true"
    elif re.fullmatch(r"-?\d+", raw):
        value = int(raw)
    elif raw == "null":
        value = None
    else:
        value = raw
    node = tree
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return tree
