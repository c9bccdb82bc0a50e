#!/usr/bin/env python3
"""Checks that the Rust crate keeps the layers of DESIGN.md.

Every path that names another module of the crate (`use crate::x::...`, `crate::x::f(...)`,
`super::super::x`) is an edge from the module that holds it to the module it names. The check
fails when
  - an edge goes up a layer (a lower-numbered layer uses a higher-numbered one), or
  - the top-level modules form a circle (including modules in the same layer), or
  - two sibling modules of one folder import each other through a circle (`codec::zlib` ->
    `codec::gzip` -> `codec::zlib`); a folder's mod.rs re-exporting its children is not one.

Usage: python3 tools/check_layers.py [crates/ndpack/src]   (exit status 1 on a violation)
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

# DESIGN.md, "Layers": each module may use its own layer and the layers above it (lower numbers).
LAYERS = {
    "error": 1,
    "dtype": 1,
    "buffer": 1,
    "region": 1,
    "io": 1,
    "threads": 1,
    "backend": 2,
    "blosc": 2,
    "zfp": 2,
    "codec": 3,
    "npy": 4,
    "array": 4,
}

PATH_RE = re.compile(r"\b((?:crate|super)(?:::(?:super|self))*)::((?:[A-Za-z_][A-Za-z0-9_]*::)*)"
                     r"(\{|[A-Za-z_][A-Za-z0-9_]*)")


def module_path(src: Path, file: Path) -> list[str]:
    """The module path of a source file: src/a/b.rs -> [a, b]; src/a/mod.rs -> [a]."""
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return parts


def strip_comments(text: str) -> str:
    """Drops // comments (doc comments included) and string literals' contents."""
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)
    return re.sub(r"//[^\n]*", "", text)


def brace_group(text: str, start: int) -> str:
    """The text inside the braces that open at `start`."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
    return text[start + 1 :]


def top_names(group: str) -> list[list[str]]:
    """The first two segments of each path in a `use` brace group (`a::b, c::{d, e}`)."""
    out, depth, cur = [], 0, ""
    for ch in group + ",":
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            segs = [s.strip() for s in cur.split("::")]
            segs = [re.sub(r"\s+as\s+\w+$", "", s) for s in segs if s]
            if segs and segs[0] not in ("self", "*"):
                first = segs[0]
                if first.startswith("{"):
                    for sub in top_names(first[1:].rstrip("}")):
                        out.append(sub)
                else:
                    second = segs[1] if len(segs) > 1 and not segs[1].startswith("{") else None
                    out.append([first] + ([second] if second else []))
            cur = ""
        else:
            cur += ch
    return out


def targets(text: str, here: list[str]) -> list[list[str]]:
    """Absolute module paths (first two segments) named from a file whose module is `here`."""
    found = []
    for m in PATH_RE.finditer(text):
        head, middle, last = m.group(1), m.group(2), m.group(3)
        base: list[str]
        if head.startswith("crate"):
            base = []
        else:
            ups = head.count("super")
            if ups > len(here):
                continue
            base = here[: len(here) - ups]
        middle_segs = [s for s in middle.split("::") if s]
        if last == "{":
            for names in top_names(brace_group(text, m.end() - 1)):
                found.append(base + middle_segs + names)
        else:
            found.append(base + middle_segs + [last])
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    nodes = sorted(set(graph) | {n for v in graph.values() for n in v})

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                n = stack.pop()
                on_stack.discard(n)
                group.append(n)
                if n == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in nodes:
        if node not in index:
            visit(node)
    return groups


def main(argv: list[str]) -> int:
    src = Path(argv[0] if argv else Path(__file__).resolve().parent.parent / "crates/ndpack/src")
    problems: list[str] = []
    top_graph: dict[str, set[str]] = defaultdict(set)
    sibling_graph: dict[str, set[str]] = defaultdict(set)
    top_level = {p.stem if p.suffix == ".rs" else p.name for p in src.iterdir()} - {"lib"}
    for mod in sorted(top_level):
        if mod not in LAYERS:
            problems.append(f"module `{mod}` has no layer in DESIGN.md (tools/check_layers.py LAYERS)")
    for file in sorted(src.rglob("*.rs")):
        here = module_path(src, file)
        if not here:
            continue
        text = strip_comments(file.read_text())
        for target in targets(text, here):
            if not target or target[0] not in top_level:
                continue  # an item of the crate root or of this module (`super::Foo`)
            a, b = here[0], target[0]
            rel = file.relative_to(src)
            if a != b:
                top_graph[a].add(b)
                if LAYERS.get(b, 0) > LAYERS.get(a, 0):
                    problems.append(
                        f"{rel}: `{a}` (layer {LAYERS.get(a)}) uses `{'::'.join(target)}` "
                        f"(layer {LAYERS.get(b)}): up a layer"
                    )
            elif len(here) >= 2 and len(target) >= 2 and target[1] != here[1]:
                if (src / a / f"{target[1]}.rs").exists() or (src / a / target[1]).is_dir():
                    sibling_graph[f"{a}::{here[1]}"].add(f"{a}::{target[1]}")
    for group in circles(top_graph):
        problems.append("circle between modules: " + " <-> ".join(group))
    for group in circles(sibling_graph):
        problems.append("circle between sibling modules: " + " <-> ".join(group))
    for p in problems:
        print(p)
    edges = sum(len(v) for v in top_graph.values())
    if problems:
        print(f"check_layers: {len(problems)} problem(s)")
        return 1
    print(f"check_layers: {len(top_level)} modules, {edges} edges between them, layers kept, no circles")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
