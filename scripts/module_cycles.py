#!/usr/bin/env python3
"""Fails when modules of a crate import each other in a cycle.

For each crate given, every `.rs` file under `src/` is a module (`mod.rs` names its folder).
An edge A -> B is a path in A that names B: `crate::b::…`, `super::b`, `self::b`, or a `b::…`
path where `b` is a child module of A (declared with `mod b;`). Tests (`#[cfg(test)]` blocks to
the end of the file) are ignored. Strongly connected components of more than one module are
printed and make the script exit 1.

Usage: scripts/module_cycles.py crates/server crates/oauth
"""
import pathlib
import re
import sys


def modules(src: pathlib.Path):
    out = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] in ("mod", "lib", "main"):
            parts = parts[:-1]
        out[tuple(parts)] = f
    return out


def code(f: pathlib.Path) -> str:
    text = f.read_text()
    cut = text.find("#[cfg(test)]")
    text = text if cut < 0 else text[:cut]
    text = re.sub(r"//[^\n]*", "", text)
    return text


PATH = re.compile(r"\b((?:crate|super|self)(?:::[a-z_][a-z0-9_]*)+|[a-z_][a-z0-9_]*(?:::[a-z_][a-z0-9_]*)+)")


def resolve(mods, here, path):
    parts = path.split("::")
    if parts[0] == "crate":
        base, rest = (), parts[1:]
    elif parts[0] in ("super", "self"):
        base = here
        while parts and parts[0] in ("super", "self"):
            if parts[0] == "super":
                base = base[:-1]
            parts = parts[1:]
        rest = parts
    else:
        base, rest = here, parts
        if here + (rest[0],) not in mods:
            return None
    target = base
    for p in rest:
        if target + (p,) in mods:
            target = target + (p,)
        else:
            break
    return target if target != base or parts[0] != "crate" else None


def graph(mods):
    g = {m: set() for m in mods}
    for m, f in mods.items():
        for p in PATH.findall(code(f)):
            t = resolve(mods, m, p)
            if t is None or t == m or t == m[: len(t)] or t[: len(m)] == m:
                continue  # itself, an ancestor (its own folder's mod.rs) or a descendant
            g[m].add(t)
    return g


def sccs(g):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in g:
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main():
    bad = 0
    for crate in sys.argv[1:]:
        mods = modules(pathlib.Path(crate) / "src")
        for comp in sccs(graph(mods)):
            bad += 1
            names = sorted("::".join(m) or "lib" for m in comp)
            print(f"{crate}: import cycle: {' <-> '.join(names)}")
    if bad:
        sys.exit(1)
    print("no import cycles in", ", ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
