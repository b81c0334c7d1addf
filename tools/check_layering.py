#!/usr/bin/env python3
"""Checks that modules include only the public headers of modules they may depend on
(docs/architecture.md). Exits 1 and names every offending include."""
import pathlib
import re
import sys

ALLOWED = {
    "core": set(),
    "ml": {"core"},
    "text": {"core", "ml"},
    "store": {"core"},
    "identity": {"core", "store"},
    "ingest": {"core", "store", "identity", "text"},
    "profile": {"core", "store", "identity", "ml"},
    "pipeline": {"core", "store", "identity", "ingest", "profile", "text"},
    "insight": {"core", "store", "profile", "ml", "text"},
    "http": {"core"},
    "demo": {"core"},
}
TOP = {"server", "cli"}  # composition roots may include anything
INCLUDE = re.compile(r'#\s*include\s*<touchpoint/([a-z_]+)/')


def module_of(path: pathlib.Path, root: pathlib.Path):
    rel = path.relative_to(root).parts
    if rel[0] == "include":
        return rel[2]
    if rel[0] == "src":
        return rel[1]
    return None


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    bad = []
    files = list((root / "include" / "touchpoint").rglob("*.h")) + list((root / "src").rglob("*.[ch]*"))
    for f in files:
        mod = module_of(f, root)
        if mod is None or mod in TOP or mod not in ALLOWED:
            continue
        for n, line in enumerate(f.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.search(line)
            if not m:
                continue
            dep = m.group(1)
            if dep != mod and dep not in ALLOWED[mod]:
                bad.append(f"{f.relative_to(root)}:{n}: module '{mod}' may not include <touchpoint/{dep}/...>")
    for b in bad:
        print(b)
    if bad:
        print(f"check_layering: {len(bad)} include(s) break the dependency direction")
        return 1
    print(f"check_layering: {len(files)} files follow the dependency direction")
    return 0


if __name__ == "__main__":
    sys.exit(main())
