#!/usr/bin/env python3
"""Checks every #include in include/ and src/ against the module table of docs/architecture.md.

The table between <!-- layering:begin --> and <!-- layering:end --> is the module graph: one row
per module (`| module | owns | may use |`), in dependency order. A module may include the public
headers (<touchpoint/...>) of itself and of the modules its row lists, and its own private headers
("module/..._internal.h"); never another module's private headers. The "may use" cell is a
comma-separated list of:
  —                            nothing but the standard library
  a module                     e.g. `core`, `store/sqlite`
  a public header              e.g. `server/app.h`: that header only
  every module above           every module of an earlier row
  every module above but X, Y  the same without X and Y (the rest of the cell after ';')
A row may only name modules above it, so the graph has no cycle.

Which module a file belongs to: include/touchpoint/<m>/... and src/<m>/... belong to <m>, except
that a more specific module wins: src/store/sqlite/*.cc and include/touchpoint/store/sqlite.h
belong to `store/sqlite`, include/touchpoint/store/open.h to `store/open`.

Exits 1 naming file:line of every include that breaks the table (or 2 when the table itself is
malformed). `--root DIR` checks another tree (tools/check_layering_test.py uses it).
"""
import argparse
import pathlib
import re
import sys

BEGIN = "<!-- layering:begin -->"
END = "<!-- layering:end -->"
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
GLOBAL_HEADERS = {"version.h"}  # generated build information (cmake/version.h.in), for anyone
SOURCE_SUFFIXES = {".h", ".hh", ".hpp", ".cc", ".cpp", ".c", ".inc"}


class TableError(Exception):
    pass


def _cell_words(cell):
    return cell.replace("`", "").strip()


def parse_table(doc_text):
    """Returns (order, allowed): modules in row order, and per module the set of modules and
    public headers it may include."""
    if BEGIN not in doc_text or END not in doc_text:
        raise TableError(f"docs/architecture.md has no {BEGIN} … {END} table")
    body = doc_text.split(BEGIN, 1)[1].split(END, 1)[0]
    rows = [line.strip() for line in body.splitlines() if line.strip().startswith("|")]
    if len(rows) < 3:
        raise TableError("the layering table has no rows")
    header = [c.strip().lower() for c in rows[0].strip("|").split("|")]
    try:
        i_module, i_uses = header.index("module"), header.index("may use")
    except ValueError:
        raise TableError("the layering table needs the columns 'module' and 'may use'")
    order, allowed = [], {}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) != len(header):
            raise TableError(f"layering table row has {len(cells)} cells, expected {len(header)}: {row}")
        name = _cell_words(cells[i_module]).split()[0] if _cell_words(cells[i_module]) else ""
        if not re.fullmatch(r"[a-z_]+(/[a-z_]+)?", name):
            raise TableError(f"bad module name in layering table: {cells[i_module]!r}")
        if name in allowed:
            raise TableError(f"module '{name}' has two rows in the layering table")
        uses = set()
        spec = _cell_words(cells[i_uses])
        if spec not in ("—", "-", ""):
            for part_no, part in enumerate(spec.split(";")):
                part = part.strip()
                m = re.fullmatch(r"every module above(?: but (.+))?", part)
                if m:
                    if part_no != 0:
                        raise TableError(f"'{name}': 'every module above' must come first")
                    but = {b.strip() for b in (m.group(1) or "").split(",") if b.strip()}
                    for b in but:
                        if b not in allowed:
                            raise TableError(f"'{name}' excepts '{b}', which is not a module above it")
                    uses |= set(order) - but
                    continue
                for item in (x.strip() for x in part.split(",")):
                    if not item:
                        continue
                    module = item[: -len(pathlib.PurePosixPath(item).name) - 1] if item.endswith(".h") else item
                    if module not in allowed:
                        raise TableError(
                            f"'{name}' may use '{item}', but '{module}' is not a module above it in the table")
                    uses.add(item)
        order.append(name)
        allowed[name] = uses
    return order, allowed


def module_of(parts, modules):
    """The module of a path below include/touchpoint/ or src/ (a tuple of parts): the longest
    module name that is a prefix of it, the last part counting without its extension."""
    if not parts:
        return None
    stems = list(parts[:-1]) + [parts[-1].split(".")[0]]
    for n in range(len(stems), 0, -1):
        candidate = "/".join(stems[:n])
        if candidate in modules:
            return candidate
    return None


def check(root):
    """Returns the list of problems ("file:line: message")."""
    doc = root / "docs" / "architecture.md"
    order, allowed = parse_table(doc.read_text(encoding="utf-8"))
    modules = set(order)
    problems = []
    files = []
    for base in (root / "include" / "touchpoint", root / "src"):
        if base.is_dir():
            files += sorted(p for p in base.rglob("*") if p.is_file() and p.suffix in SOURCE_SUFFIXES)
    for f in files:
        rel = f.relative_to(root)
        parts = rel.parts[2:] if rel.parts[0] == "include" else rel.parts[1:]
        if rel.parts[0] == "include" and len(parts) == 1 and parts[0] in GLOBAL_HEADERS:
            continue
        mod = module_of(parts, modules)
        if mod is None:
            problems.append(f"{rel}:1: belongs to no module of the table in docs/architecture.md")
            continue
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            bracket, target = m.group(1), m.group(2)
            if bracket == "<" or target.startswith("touchpoint/"):
                if not target.startswith("touchpoint/"):
                    continue  # std and third-party headers
                header = target[len("touchpoint/"):]
                hparts = tuple(header.split("/"))
                if len(hparts) == 1 and header in GLOBAL_HEADERS:
                    continue
                dep = module_of(hparts, modules)
                if dep is None:
                    problems.append(f"{rel}:{n}: <{target}> belongs to no module of the table")
                elif dep != mod and dep not in allowed[mod] and header not in allowed[mod]:
                    problems.append(f"{rel}:{n}: module '{mod}' may not include <{target}> "
                                    f"(module '{dep}'; see docs/architecture.md)")
            else:
                tparts = tuple(target.split("/"))
                if len(tparts) < 2 or tparts[0] not in {o.split("/")[0] for o in modules}:
                    continue  # a file next to this one, or not ours
                dep = module_of(tparts, modules)
                if dep is not None and dep != mod:
                    problems.append(f"{rel}:{n}: module '{mod}' includes \"{target}\", a private header of "
                                    f"module '{dep}' (include its public headers instead)")
    return problems, len(files)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    try:
        problems, n = check(args.root)
    except TableError as e:
        print(f"check_layering: {e}")
        return 2
    for p in problems:
        print(p)
    if problems:
        print(f"check_layering: {len(problems)} include(s) break the module table of docs/architecture.md")
        return 1
    print(f"check_layering: {n} files follow the module table of docs/architecture.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
