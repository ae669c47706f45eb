#!/usr/bin/env python3
"""Checks the Rust dependencies of the workspace, as Cargo.lock pins them, for what can be known
without an advisory database: where each crate comes from, and under what licence.

- Sources: every crate comes from the one package registry Cargo uses by default, or is one of
  the workspace's own (a path inside this repository); none from a git repository or another
  registry, whose contents the lock file's checksums would not pin the same way.
- Licences: every crate states an SPDX licence expression that this project (Apache-2.0) may
  ship: each of its alternatives (OR, or the older "/") is tried, and one must be made only of
  allowed licences (AND). A crate with no licence expression is a problem.

It reads `cargo metadata --locked` for the platforms the function is built for (the Lambda's
aarch64 and x86_64 Linux), so the lock file must be current. Known vulnerabilities are not
checked here: that needs the RustSec advisory database, which this machine cannot fetch (see
docs/development.md).

Usage: python3 scripts/check_dependencies.py   (exit status 1 on any problem, a line each)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ["aarch64-unknown-linux-gnu", "x86_64-unknown-linux-gnu"]

# Licences the project may ship with its binary: permissive ones, and MPL-2.0 (file-level
# copyleft: the files stay under it, the rest is unaffected).
ALLOWED = {
    "0BSD",
    "Apache-2.0",
    "Apache-2.0 WITH LLVM-exception",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSL-1.0",
    "CC0-1.0",
    "CDLA-Permissive-2.0",
    "ISC",
    "MIT",
    "MPL-2.0",
    "Unicode-3.0",
    "Unlicense",
    "Zlib",
}


def alternatives(expression: str) -> list[list[str]]:
    """An SPDX expression as its alternatives, each a list of licences that all apply. Handles
    OR, AND, WITH, parentheses and the older "/" for OR."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression.replace("/", " OR "))
    position = 0

    def parse_or() -> list[list[str]]:
        nonlocal position
        result = parse_and()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            result += parse_and()
        return result

    def parse_and() -> list[list[str]]:
        nonlocal position
        result = parse_atom()
        while position < len(tokens) and tokens[position] == "AND":
            position += 1
            right = parse_atom()
            result = [a + b for a in result for b in right]
        return result

    def parse_atom() -> list[list[str]]:
        nonlocal position
        if position >= len(tokens):
            raise ValueError(f"incomplete licence expression {expression!r}")
        token = tokens[position]
        position += 1
        if token == "(":
            inner = parse_or()
            if position >= len(tokens) or tokens[position] != ")":
                raise ValueError(f"unbalanced licence expression {expression!r}")
            position += 1
            return inner
        if position + 1 < len(tokens) and tokens[position] == "WITH":
            token = f"{token} WITH {tokens[position + 1]}"
            position += 2
        return [[token]]

    result = parse_or()
    if position != len(tokens):
        raise ValueError(f"unexpected {tokens[position]!r} in licence expression {expression!r}")
    return result


def allowed(expression: str) -> bool:
    return any(all(licence in ALLOWED for licence in alt) for alt in alternatives(expression))


def packages() -> dict[str, dict]:
    """Every package the workspace depends on for the platforms built, by id."""
    found: dict[str, dict] = {}
    for platform in PLATFORMS:
        out = subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", platform],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        metadata = json.loads(out)
        used = {node["id"] for node in metadata["resolve"]["nodes"]}
        found.update({p["id"]: p for p in metadata["packages"] if p["id"] in used})
    return found


def main() -> int:
    problems: list[str] = []
    registries: set[str] = set()
    crates = packages()
    for package in sorted(crates.values(), key=lambda p: (p["name"], p["version"])):
        name = f"{package['name']} {package['version']}"
        source = package.get("source")
        if source is None:
            if not Path(package["manifest_path"]).resolve().is_relative_to(ROOT):
                problems.append(f"{name}: a path dependency outside this repository")
        elif source.startswith(("registry+", "sparse+")):
            registries.add(source)
        else:
            problems.append(f"{name}: from {source.split('+')[0]}, not the package registry")
        expression = package.get("license")
        if not expression:
            problems.append(f"{name}: no licence expression")
            continue
        try:
            if not allowed(expression):
                problems.append(f"{name}: licence {expression!r} allows none of the licences this project may ship")
        except ValueError as error:
            problems.append(f"{name}: {error}")
    if len(registries) > 1:
        problems.append(f"crates come from {len(registries)} registries; one is expected")
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"check_dependencies: FAILED with {len(problems)} problem(s)")
        return 1
    print(f"check_dependencies: OK, {len(crates)} crates for {', '.join(PLATFORMS)}: one registry, every licence allowed")
    return 0


def self_test() -> None:
    """The expression reader on the forms Cargo.lock's crates use, and known-bad ones."""
    assert allowed("MIT OR Apache-2.0") and allowed("Apache-2.0/MIT") and allowed("MIT / Apache-2.0")
    assert allowed("(MIT OR Apache-2.0) AND Unicode-3.0")
    assert allowed("Apache-2.0 WITH LLVM-exception OR Apache-2.0 OR MIT")
    assert not allowed("GPL-3.0-only") and not allowed("MIT AND GPL-2.0-or-later")
    assert allowed("GPL-3.0-only OR MIT")
    for bad in ("(MIT", "MIT OR", "MIT )"):
        try:
            alternatives(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} was read")


if __name__ == "__main__":
    self_test()
    sys.exit(main())
