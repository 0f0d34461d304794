#!/usr/bin/env python3
"""Checks that the top-level modules of each crate depend on each other one
way only: no import cycle between them (test code aside). Prints the
modules bottom-up, each with what it uses, so docs/architecture.md can be
checked against it; exits 1 on a cycle, naming a `file:line` for each arrow.

    scripts/check-layers.py crates/core/src crates/lambda/src ...

A file's top-level module is the first part of its path under src/
(`auth/jwt.rs` -> `auth`). Arrows are `crate::X` paths (also inside
`use crate::{X, Y}` groups), `super::X` from a top-level file, and names the
crate root re-exports (`crate::Gateway` -> the module it comes from). Test
code is left out: `*_tests.rs` / `tests.rs` files and everything from a
file's first `#[cfg(test)]` on.
"""
import re
import sys
from pathlib import Path

IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def strip_comments(line: str) -> str:
    # Doc and line comments name modules in prose; they are not arrows.
    i = line.find("//")
    return line if i < 0 else line[:i]


def root_names(src: Path, modules: set) -> dict:
    """Names the crate root defines by re-export: name -> module."""
    names = {}
    for lib in ("lib.rs", "main.rs"):
        path = src / lib
        if not path.exists():
            continue
        text = "\n".join(strip_comments(l) for l in path.read_text().splitlines())
        for m in re.finditer(r"pub(?:\([a-z]+\))?\s+use\s+([^;]+);", text):
            body = m.group(1).strip()
            head = body.split("::", 1)[0].strip()
            if head not in modules:
                continue
            if "{" in body:
                inner = body[body.index("{") + 1 : body.rindex("}")]
                leaves = [p.strip() for p in inner.split(",") if p.strip()]
            else:
                leaves = [body]
            for leaf in leaves:
                name = leaf.split(" as ")[-1].split("::")[-1].strip()
                if name and name != "self":
                    names[name] = head
    return names


def group_heads(body: str) -> list:
    """`{a, b::c, d::{e}}` -> [a, b, d] (the first segment of each path)."""
    heads, depth, current = [], 0, ""
    for ch in body:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            heads.append(current)
            current = ""
        else:
            current += ch
    heads.append(current)
    return [h.strip().split("::")[0].strip("{} \n") for h in heads if h.strip()]


def arrows(src: Path):
    files = sorted(p for p in src.rglob("*.rs"))
    modules = set()
    for p in files:
        rel = p.relative_to(src)
        if len(rel.parts) == 1 and rel.name in ("lib.rs", "main.rs"):
            continue
        modules.add(rel.parts[0].removesuffix(".rs"))
    names = root_names(src, modules)
    edges = {}  # (from, to) -> "file:line"
    for p in files:
        rel = p.relative_to(src)
        if len(rel.parts) == 1 and rel.name in ("lib.rs", "main.rs"):
            continue
        if rel.name.endswith("_tests.rs") or rel.name == "tests.rs":
            continue
        top = rel.parts[0].removesuffix(".rs")
        at_root = len(rel.parts) == 1 or (len(rel.parts) == 2 and rel.name == "mod.rs")
        lines = p.read_text().splitlines()
        text_lines = []
        for line in lines:
            if line.strip().startswith("#[cfg(test)]"):
                break
            text_lines.append(strip_comments(line))
        # Join so that `use crate::{\n a,\n b}` groups read as one.
        joined = "\n".join(text_lines)
        prefixes = ["crate"] + (["super"] if at_root else [])
        for prefix in prefixes:
            for m in re.finditer(rf"\b{prefix}::(\{{[^;]*?\}}|{IDENT})", joined):
                target = m.group(1)
                line_no = joined.count("\n", 0, m.start()) + 1
                heads = group_heads(target[1:-1]) if target.startswith("{") else [target]
                for head in heads:
                    dest = head if head in modules else names.get(head)
                    if dest and dest != top:
                        edges.setdefault((top, dest), f"{p}:{line_no}")
    return modules, edges


def cycles(modules, edges):
    """Strongly connected components with more than one module (Tarjan)."""
    graph = {m: sorted(b for (a, b) in edges if a == m) for m in modules}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
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
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for m in sorted(modules):
        if m not in index:
            visit(m)
    return out


def layers(modules, edges):
    """Modules bottom-up: each after everything it uses."""
    placed, order = set(), []
    remaining = set(modules)
    while remaining:
        ready = sorted(m for m in remaining if all(b in placed for (a, b) in edges if a == m))
        if not ready:
            return order + sorted(remaining)
        order.extend(ready)
        placed.update(ready)
        remaining.difference_update(ready)
    return order


def main(args):
    failed = False
    for arg in args:
        src = Path(arg)
        modules, edges = arrows(src)
        found = cycles(modules, edges)
        print(f"{src}: {len(modules)} top-level modules, {len(edges)} arrows")
        for m in layers(modules, edges):
            uses = sorted(b for (a, b) in edges if a == m)
            print(f"  {m}" + (f" -> {', '.join(uses)}" if uses else ""))
        for comp in found:
            failed = True
            print(f"  CYCLE between {', '.join(comp)}:")
            for (a, b), where in sorted(edges.items()):
                if a in comp and b in comp:
                    print(f"    {a} -> {b}  ({where})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["crates/core/src"]))
