#!/usr/bin/env python3
"""Fails when the library's modules import each other in a circle.

A module is a top-level module of the crate (`src/report/csv.rs` belongs to `report`); an edge is
a path through `crate::` (a `use crate::…` or an inline `crate::x::…`) from a file of one module
to another module. Parents and their children (`use super::…`) are one module, so they are not
edges. Tests (`#[cfg(test)]` modules and their files) are left out: a test may reach anywhere.

    scripts/check_module_cycles.py [SRC_DIR]      (default: src)

Prints the edges, then every cycle found; exits 1 when there is one.
"""

import re
import sys
from pathlib import Path

CRATE_PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
# `use crate::{a, b::C}`: every name in the braces after `crate::`.
BRACED = re.compile(r"\buse\s+crate::\{([^}]*)\}", re.S)


def strip_tests_and_comments(text: str) -> str:
    """The code of a file without comments and without `#[cfg(test)]` items."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", text):
        if m.start() < i:
            continue
        out.append(text[i : m.start()])
        # Skip the item: up to `;` (a `mod x;`) or a balanced `{…}`.
        j = m.end()
        while j < len(text) and text[j] not in "{;":
            j += 1
        if j < len(text) and text[j] == "{":
            depth = 0
            while j < len(text):
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
                if depth == 0:
                    break
        else:
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def module_of(path: Path, src: Path) -> str:
    rel = path.relative_to(src).with_suffix("")
    return rel.parts[0]


def test_files(src: Path) -> set:
    """Files that are only test modules: `#[cfg(test)] mod x;` beside or under their parent."""
    found = set()
    for path in src.rglob("*.rs"):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"#\[cfg\(test\)\]\s*(?:#\[path\s*=\s*\"([^\"]+)\"\]\s*)?mod\s+([a-z_0-9]+)\s*;", text):
            base = path.parent if path.name in ("mod.rs", "lib.rs") else path.parent / path.stem
            found.add((base / (m.group(1) or f"{m.group(2)}.rs")).resolve())
            found.add((base / m.group(2) / "mod.rs").resolve())
    return found


def graph(src: Path) -> dict:
    modules = {module_of(p, src) for p in src.rglob("*.rs")} - {"lib", "main"}
    skip = test_files(src)
    edges = {m: set() for m in modules}
    for path in sorted(src.rglob("*.rs")):
        owner = module_of(path, src)
        if owner in ("lib", "main") or path.resolve() in skip:
            continue
        code = strip_tests_and_comments(path.read_text(encoding="utf-8"))
        names = set(CRATE_PATH.findall(code))
        for braced in BRACED.findall(code):
            names.update(re.findall(r"(?:^|,)\s*([a-z_][a-z0-9_]*)", braced))
        for name in names:
            if name in modules and name != owner:
                edges[owner].add(name)
    return edges


def cycles(edges: dict) -> list:
    """Every strongly connected component of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def main() -> int:
    src = Path(sys.argv[1] if len(sys.argv) > 1 else "src")
    edges = graph(src)
    for module in sorted(edges):
        print(f"{module} -> {', '.join(sorted(edges[module])) or '(nothing)'}")
    found = cycles(edges)
    for component in found:
        inside = [f"{a} -> {b}" for a in component for b in sorted(edges[a]) if b in component]
        print(f"import cycle among {', '.join(component)}: {'; '.join(inside)}", file=sys.stderr)
    if found:
        print("break each cycle: move the shared type to the module both sides already import, or "
              "pass the value in from the caller", file=sys.stderr)
        return 1
    print(f"no import cycle among {len(edges)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
