#!/usr/bin/env python3
"""Adds to a hashed requirements lock, for each requirement with extras (`boto3[crt]==1.2.3`),
the same pin without them and with the same hashes: pip's --require-hashes mode refuses a
package another one requires without those extras unless its plain name is pinned too.

Usage: python3 scripts/plain_extras.py requirements-NAME.lock (rewrites it in place)."""
import re, sys
path = sys.argv[1]
lines = open(path).read().split("\n")
out, i = [], 0
while i < len(lines):
    line = lines[i]
    m = re.match(r"^([A-Za-z0-9_.-]+)\[[^\]]*\](==\S+) \\$", line)
    block = [line]
    j = i + 1
    while j < len(lines) and lines[j].startswith("    --hash="):
        block.append(lines[j]); j += 1
    out.extend(block)
    if m:
        out.append(f"{m.group(1)}{m.group(2)} \\")
        hashes = block[1:]
        out.extend(h if k < len(hashes) - 1 else h.rstrip(" \\") for k, h in enumerate(hashes))
        out[-1] = out[-1].rstrip(" \\")
    i = j
open(path, "w").write("\n".join(out))
