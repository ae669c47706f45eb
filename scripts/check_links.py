#!/usr/bin/env python3
"""Every link in the project's Markdown resolves: README.md, CHANGELOG.md and docs/*.md.

A relative link must name a file or directory of the repository (relative to the page), and a
`#fragment` must be a heading of the page it points at, as GitHub makes anchors of headings
(lower case, punctuation dropped, spaces as hyphens; a repeated heading gets -1, -2, ...).
Links inside code fences and inline code are not links. Web links (https:, mailto:) are not
fetched: this machine has no internet.

Usage: scripts/check_links.py  (from anywhere; exits 1 and names each broken link)
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def pages():
    yield ROOT / "README.md"
    if (ROOT / "CHANGELOG.md").exists():
        yield ROOT / "CHANGELOG.md"
    yield from sorted((ROOT / "docs").glob("*.md"))


def prose(text):
    """The page's lines outside code fences, inline code blanked."""
    fence = False
    for number, line in enumerate(text.split("\n"), 1):
        if line.lstrip().startswith("```"):
            fence = not fence
            continue
        if not fence:
            yield number, re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)


def slug(heading):
    text = re.sub(r"`", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    seen = {}
    found = set()
    for _, line in prose(path.read_text()):
        match = re.match(r"^#{1,6} (.*)$", line)
        if not match:
            continue
        base = slug(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def main():
    problems = []
    checked = 0
    for page in pages():
        text = page.read_text()
        # Headings are read from the raw text (inline code in a heading is part of its anchor).
        for number, line in prose(text):
            raw = text.split("\n")[number - 1]
            for match in LINK.finditer(raw):
                target = match.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue
                checked += 1
                file_part, _, fragment = target.partition("#")
                destination = (page.parent / file_part).resolve() if file_part else page
                where = f"{page.relative_to(ROOT)}:{number}: {target}"
                if not destination.exists():
                    problems.append(f"{where}: no such file")
                    continue
                if ROOT not in destination.parents and destination != ROOT:
                    problems.append(f"{where}: outside the repository")
                    continue
                if fragment:
                    if destination.suffix != ".md":
                        problems.append(f"{where}: a fragment on a file that is not Markdown")
                    elif fragment not in anchors(destination):
                        problems.append(f"{where}: no heading #{fragment} there")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(f"check_links: {len(problems)} broken link(s)")
    print(f"check_links: {checked} links resolve")


if __name__ == "__main__":
    main()
