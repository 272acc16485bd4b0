#!/usr/bin/env python3
"""Layering check (STYLE.md item 13), in the spirit of Bitcoin Core's lint-circular-dependencies.py.

Reads every #include in core/, ui/ and app/ (.h .hpp .cpp .in ...) and fails on:
  * a cycle between folders (each direct subfolder of core/ is one folder: core/node/swarm belongs
    to node; ui/ and app/ are one folder each),
  * an include edge that ALLOWED below does not list, or a folder under core/ it does not know,
  * Qt in core (<QString>, <QtCore/...>, ...),
  * libtorch (torch/, ATen/, c10/, caffe2/, or the backends' core/backend/torch_pch.h) anywhere but
    core/backend/*.cpp and core/backend/torch_pch.h (tests/ is scanned for this rule too), and a torch
    translation unit that includes headers other than TORCH_TU_MAY_INCLUDE, so that touching the
    wallet, the network or the node never recompiles anything against torch.
Includes inside comments and raw string literals are skipped; #if 0 blocks are not.

  python3 check_layering.py SOURCE_DIR                 every rule (CTest `layering`)
  python3 check_layering.py --only torch SOURCE_DIR    some rules: cycles, edges, qt, torch
  python3 check_layering.py --self-test                the checker on synthetic trees

Exit status: 0 clean, 1 violations (each printed as file:line: message, then a summary), 2 usage.
"""

import argparse
import io
import os
import re
import sys
import tempfile

ANY = "*"

# Which folders a folder's files may include (besides its own). Edit here when the structure
# changes; the table itself must stay acyclic. Folders listed but absent on disk are fine.
ALLOWED = {
    "core":     [],  # files directly in core/ (version.h.in, generated as tessera/version.h)
    "sys":      [],  # host and hardware probes, paths, the durable file write: the bottom layer
    "model":    [],  # the model as plain data: config, stage plan, FLOPs, codecs, data, no torch
    "wallet":   ["sys"],  # keys, BIP-39, SLIP-0010, keystore, delegations
    "ledger":   ["wallet", "sys"],  # the SQLite contribution log
    "protocol": ["wallet", "model", "sys"],  # manifests, receipts, statements, settlement, hub API
    "net":      ["wallet", "protocol", "model", "sys"],  # CurveZMQ transport, wire, swarm messages, HTTP JSON
    "nat":      ["sys"],  # port mapping on the home router: UPnP-IGD, NAT-PMP
    "relay":    ["wallet", "sys"],  # TCP relay for nodes nobody can reach: forwards ciphertext
    "client":   ["wallet", "protocol", "net", "ledger", "model", "sys"],  # talking to a hub
    "control":  ["wallet", "protocol", "model", "net", "sys", "client", "ledger"],  # app <-> node
    "engine":   ["model", "protocol", "wallet", "sys"],  # Stage, pipeline, probes: handles onto a backend
    "backend":  ["engine", "model", "sys"],  # libtorch: the engine's backends, loaded at run time
    "hub":      ["wallet", "protocol", "model", "net", "ledger", "sys"],  # the run hub
    "demo":     ["wallet", "protocol", "model", "ledger", "hub"],  # the local network, `demo`
    "node":     ["wallet", "sys", "ledger", "model", "protocol", "net", "client", "control",
                 "engine", "nat", "relay"],  # the contributor daemon and its swarm node
    "ui":       ["wallet", "sys", "ledger", "model", "protocol", "net", "client", "control"],  # Qt
    "app":      ANY,  # thin mains: anything in core/ and ui/
}

# What a translation unit that includes libtorch may include from the project.
TORCH_TU_MAY_INCLUDE = {"backend", "engine", "model", "protocol"}

GRAPH_ROOTS = ("core", "ui", "app")  # every rule
TORCH_ONLY_ROOTS = ("tests",)        # only the libtorch rule
EXTENSIONS = (".h", ".hh", ".hpp", ".cpp", ".cc", ".cxx", ".in")
RULES = ("cycles", "edges", "qt", "torch")

QT_INCLUDE = re.compile(r"^Q[A-Za-z0-9_]*(/|$)")  # <QString>, <QtCore/QObject>, <Qt>
TORCH_INCLUDE = re.compile(r"^(torch|ATen|c10|caffe2)/")
TORCH_PCH = "core/backend/torch_pch.h"
INCLUDE_LINE = re.compile(r'^\s*#\s*include\s*([<"])([^>"\n]+)[>"]')


def strip_comments(text):
    """The text with comments and raw string literals blanked, line numbers kept."""
    out = []
    i, n = 0, len(text)

    def blank(s):
        return "".join(ch if ch == "\n" else " " for ch in s)

    def token_before(pos):
        j = pos
        while j > 0 and (text[j - 1].isalnum() or text[j - 1] == "_"):
            j -= 1
        return text[j:pos]

    def end_of_quoted(start, quote):
        j = start + 1
        while j < n and text[j] != quote and text[j] != "\n":
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, n)

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = i
            while j < n and text[j] != "\n":
                j += 2 if text.startswith("\\\n", j) else 1
            out.append(blank(text[i:j]))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(blank(text[i:j]))
            i = j
        elif c == '"':
            if token_before(i) in ("R", "u8R", "uR", "UR", "LR"):
                paren = text.find("(", i)
                delimiter = text[i + 1:paren] if paren >= 0 else ""
                j = text.find(")" + delimiter + '"', paren + 1) if paren >= 0 else -1
                j = n if j < 0 else j + len(delimiter) + 2
                out.append(blank(text[i:j]))
            else:
                j = end_of_quoted(i, '"')
                out.append(text[i:j])
            i = j
        elif c == "'":
            token = token_before(i)
            if token and token[0].isdigit():  # digit separator: 1'000'000
                out.append(c)
                i += 1
            else:
                j = end_of_quoted(i, "'")
                out.append(text[i:j])
                i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def includes(text):
    """[(line number, '<' or '"', path)] of the #include lines outside comments."""
    found = []
    for number, line in enumerate(strip_comments(text).split("\n"), start=1):
        match = INCLUDE_LINE.match(line)
        if match:
            found.append((number, match.group(1), match.group(2).strip()))
    return found


def folder_of(path):
    """The folder a source-relative path belongs to, or None outside core/, ui/, app/."""
    parts = path.split("/")
    if parts[0] == "core":
        return parts[1] if len(parts) >= 3 else "core"
    if parts[0] in ("ui", "app"):
        return parts[0]
    return None


def include_target(source_dir, including_file, delimiter, path):
    """The project path an include names ("core/...", "ui/...", "app/..."), or None."""
    if path.split("/")[0] in GRAPH_ROOTS:
        return os.path.normpath(path).replace(os.sep, "/")
    if delimiter == '"':  # relative to the including file: "stage.h", "../net/wire.h"
        relative = os.path.normpath(os.path.join(os.path.dirname(including_file), path))
        relative = relative.replace(os.sep, "/")
        if os.path.isfile(os.path.join(source_dir, relative)) and folder_of(relative):
            return relative
    return None


def source_files(source_dir, roots):
    for root in roots:
        top = os.path.join(source_dir, root)
        for directory, subdirectories, files in os.walk(top):
            subdirectories[:] = sorted(d for d in subdirectories if not d.startswith("."))
            for name in sorted(files):
                if name.endswith(EXTENSIONS):
                    full = os.path.join(directory, name)
                    yield os.path.relpath(full, source_dir).replace(os.sep, "/")


def table_cycle():
    """A cycle in ALLOWED itself (a broken table), or None."""
    edges = {a: [b for b in targets if b in ALLOWED] for a, targets in ALLOWED.items()
             if targets != ANY}
    cycles = simple_cycles(edges, limit=1)
    return cycles[0] if cycles else None


def simple_cycles(edges, limit):
    """Up to `limit` elementary cycles of a small directed graph, each as [a, b, ..., a]."""
    nodes = sorted(set(edges) | {b for targets in edges.values() for b in targets})
    order = {node: k for k, node in enumerate(nodes)}
    cycles = []
    for start in nodes:
        stack = [(start, [start])]
        while stack and len(cycles) < limit:
            node, path = stack.pop()
            for nxt in sorted(edges.get(node, ()), reverse=True):
                if nxt == start:
                    cycles.append(path + [start])
                elif order[nxt] > order[start] and nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return sorted(cycles, key=lambda c: (len(c), c))[:limit]


def check(source_dir, rules=RULES, out=sys.stdout):
    """Prints violations and a summary to `out`; returns 0 when clean, 1 otherwise."""
    if not os.path.isdir(os.path.join(source_dir, "core")):
        print(f"layering: {source_dir} has no core/ folder: pass the source directory", file=out)
        return 2
    broken = table_cycle()
    if broken:
        print(f"layering: the ALLOWED table has a cycle: {' -> '.join(broken)}", file=out)
        return 2

    files = list(source_files(source_dir, GRAPH_ROOTS))
    test_files = list(source_files(source_dir, TORCH_ONLY_ROOTS))
    edge_examples = {}   # (from, to) -> [(file, line, include)]
    unknown = {}         # folder -> (file, line, what)
    forbidden, qt, torch = [], [], []
    forbidden_edges = set()

    for path in files + test_files:
        with open(os.path.join(source_dir, path), encoding="utf-8", errors="replace") as handle:
            found = includes(handle.read())
        folder = folder_of(path)
        in_graph = folder is not None
        if in_graph and folder not in ALLOWED and folder not in unknown:
            unknown[folder] = (path, 1, "")

        torch_allowed = bool(re.fullmatch(r"core/backend/[^/]+\.cpp", path)) or path == TORCH_PCH
        is_torch_unit = False
        for line, delimiter, name in found:
            if TORCH_INCLUDE.match(name) or name == TORCH_PCH:
                if torch_allowed:
                    is_torch_unit = True
                else:
                    torch.append((path, line, f'libtorch outside core/backend/*.cpp ("{name}"): '
                                  "reach it through an engine header that does not include torch"))
            if not in_graph:
                continue
            if path.startswith("core/") and QT_INCLUDE.match(name):
                qt.append((path, line, f"Qt in core (<{name}>): core is a library without Qt; "
                           "adapt it in ui/ with a *Model"))
            target = include_target(source_dir, path, delimiter, name)
            to = folder_of(target) if target else None
            if to is None or to == folder:
                continue
            if to not in ALLOWED and to not in unknown:
                unknown[to] = (path, line, f' (included as "{name}")')
            edge_examples.setdefault((folder, to), []).append((path, line, name))
            allowed = ALLOWED.get(folder, [])
            if folder in ALLOWED and to in ALLOWED and allowed != ANY and to not in allowed:
                may = ", ".join(allowed) if allowed else "nothing"
                forbidden.append((path, line, f'forbidden edge {folder} -> {to} ("{name}"); '
                                  f"{folder} may include: {may}"))
                forbidden_edges.add((folder, to))

        if is_torch_unit:
            for line, delimiter, name in found:
                target = include_target(source_dir, path, delimiter, name)
                to = folder_of(target) if target else None
                if to is not None and to not in TORCH_TU_MAY_INCLUDE:
                    may = ", ".join(f"core/{f}" for f in sorted(TORCH_TU_MAY_INCLUDE))
                    torch.append((path, line, f'torch translation unit includes "{name}": it may '
                                  f"include only {may}, so a change elsewhere never recompiles "
                                  "it against torch"))

    edges = {}
    for a, b in edge_examples:
        edges.setdefault(a, []).append(b)
    cycles = simple_cycles(edges, limit=50)

    report = []  # (rule, file, line, message)
    if "edges" in rules:
        for folder, (path, line, what) in sorted(unknown.items()):
            report.append(("edges", path, line, f"unknown folder core/{folder}{what}: "
                           "add it to ALLOWED in tests/build/check_layering.py"))
    if "cycles" in rules:
        for cycle in cycles:
            text = " -> ".join(cycle)
            for a, b in zip(cycle, cycle[1:]):
                path, line, name = min(edge_examples[(a, b)])
                report.append(("cycles", path, line,
                               f'cycle {text}: {a} -> {b} via "{name}"'))
    if "edges" in rules:
        report += [("edges",) + v for v in sorted(forbidden)]
    if "qt" in rules:
        report += [("qt",) + v for v in sorted(qt)]
    if "torch" in rules:
        report += [("torch",) + v for v in sorted(torch)]

    for _, path, line, message in report:
        print(f"{path}:{line}: {message}", file=out)

    scanned = len(files) + (len(test_files) if "torch" in rules else 0)
    if not report:
        what = []
        if "cycles" in rules:
            what.append("no cycles")
        if "edges" in rules:
            what.append("no forbidden edges")
        if "qt" in rules and "edges" not in rules:
            what.append("no Qt in core")
        if "torch" in rules and rules != RULES:
            what.append("libtorch only in core/backend/*.cpp")
        print(f"layering: {scanned} files, {len(edge_examples)} folder edges, "
              + ", ".join(what), file=out)
        return 0
    counts = {rule: sum(1 for r in report if r[0] == rule) for rule in RULES}
    parts = []
    if "cycles" in rules:
        parts.append(f"{len(cycles)} cycles")
    if "edges" in rules:
        parts.append(f"{len(forbidden)} forbidden includes ({len(forbidden_edges)} forbidden edges)")
        parts.append(f"{len(unknown)} unknown folders")
    if "qt" in rules:
        parts.append(f"{counts['qt']} Qt includes in core")
    if "torch" in rules:
        parts.append(f"{counts['torch']} libtorch violations")
    print(f"layering: FAILED: {scanned} files, {len(edge_examples)} folder edges, "
          + ", ".join(parts), file=out)
    return 1


# ---------------------------------------------------------------------------------------------
# Self-test: synthetic trees that follow the table pass; each kind of violation fails, clearly.

def _write(root, path, *lines):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def _target_tree(root):
    """The structure ALLOWED describes: every folder includes one header of each folder it may."""
    for folder, allowed in ALLOWED.items():
        if folder in ("core", "ui", "app"):
            continue
        targets = [f for f in ALLOWED if f not in ("core", "ui", "app")] if allowed == ANY else allowed
        _write(root, f"core/{folder}/{folder}.h", "#pragma once",
               *[f'#include "core/{t}/{t}.h"' for t in targets], "#include <string>")
        _write(root, f"core/{folder}/{folder}.cpp", f'#include "core/{folder}/{folder}.h"',
               f'#include "{folder}.h"')  # relative to the including file: same folder
    _write(root, "core/version.h.in", "#pragma once", 'inline constexpr const char* v = "@V@";')
    _write(root, "core/node/swarm/swarm.cpp",  # a deeper folder belongs to node
           '#include "core/node/node.h"', '#include "../../net/net.h"', '#include "core/engine/engine.h"')
    _write(root, "core/backend/torch_pch.h", "#pragma once", "#include <torch/torch.h>")
    _write(root, "core/backend/stage.cpp", '#include "core/backend/torch_pch.h"',
           "#include <ATen/CPUGeneratorImpl.h>", '#include "core/engine/engine.h"',
           '#include "core/model/model.h"')
    _write(root, "core/wallet/comments.cpp",  # none of these is an include
           "// #include <QString>", "/* #include <torch/torch.h>", '   #include "core/node/node.h" */',
           'const char* a = "/*"; // #include "ui/ui.h"', "int n = 1'000'000; char q = '\"';",
           'const char* r = R"x(', '#include <QObject>', ')x";', '#include "core/wallet/wallet.h"')
    _write(root, "ui/main_window.cpp", "#include <QMainWindow>", "#include <QtCore/QObject>",
           '#include "tessera/version.h"',
           *[f'#include "core/{t}/{t}.h"' for t in ALLOWED["ui"]])
    _write(root, "ui/pages/page.h", "#pragma once", '#include "ui/main_window.h"')
    _write(root, "app/tessera.cpp", '#include "ui/pages/page.h"', '#include "core/node/node.h"',
           '#include "core/hub/hub.h"', "#include <QApplication>")
    _write(root, "app/cli/command.cpp", '#include "core/engine/engine.h"')
    _write(root, "tests/test_wallet.cpp", "#include <QTest>", '#include "core/wallet/wallet.h"')


def _run(root, rules=RULES):
    out = io.StringIO()
    status = check(root, rules, out)
    return status, out.getvalue()


# (name, extra files, expected message fragments, rules)
_VIOLATIONS = [
    ("cycle", [("core/wallet/uses_ledger.h", '#include "core/ledger/ledger.h"')],
     ['core/wallet/uses_ledger.h:1: cycle ledger -> wallet -> ledger: wallet -> ledger via '
      '"core/ledger/ledger.h"',
      "core/ledger/ledger.h:", 'cycle ledger -> wallet -> ledger: ledger -> wallet via',
      "forbidden edge wallet -> ledger", "1 cycles"], RULES),
    ("forbidden edge ui -> node", [("ui/pages/node_page.cpp", "#include <QWidget>",
                                    '#include "core/node/node.h"')],
     ['ui/pages/node_page.cpp:2: forbidden edge ui -> node ("core/node/node.h"); ui may include: '
      "wallet, sys", "0 cycles", "1 forbidden includes (1 forbidden edges)"], RULES),
    ("forbidden edge core -> ui", [("core/net/net_model.cpp", '#include "ui/pages/page.h"')],
     ["core/net/net_model.cpp:1: forbidden edge net -> ui"], RULES),
    ("unknown folder", [("core/gadgets/gadget.h", "#pragma once", '#include "core/wallet/wallet.h"')],
     ["core/gadgets/gadget.h:1: unknown folder core/gadgets", "add it to ALLOWED",
      "1 unknown folders"], RULES),
    ("unknown folder, included", [("core/node/uses_gadget.h", '#include "core/gadgets/gadget.h"')],
     ['core/node/uses_gadget.h:1: unknown folder core/gadgets (included as "core/gadgets/gadget.h")'],
     RULES),
    ("line numbers after comments and raw strings",
     [("core/sys/paths.cpp", "/* a block", "   comment */", 'const char* s = R"(', "#include <QDir>",
       ')"; // #include <QFile>', "#include <QDir>")],
     ["core/sys/paths.cpp:6: Qt in core (<QDir>)", "1 Qt includes in core"], RULES),
    ("Qt in core", [("core/ledger/table.cpp", '#include "core/ledger/ledger.h"', "",
                     "#include <QtCore/QString>", "  #  include <QObject>")],
     ["core/ledger/table.cpp:3: Qt in core (<QtCore/QString>)",
      "core/ledger/table.cpp:4: Qt in core (<QObject>)", "2 Qt includes in core"], RULES),
    ("torch in core/node", [("core/node/trainer.cpp", "#include <torch/torch.h>")],
     ['core/node/trainer.cpp:1: libtorch outside core/backend/*.cpp ("torch/torch.h")',
      "1 libtorch violations"], RULES),
    ("torch in an engine header", [("core/engine/tensor_view.h", "#pragma once",
                                    "#include <ATen/Tensor.h>")],
     ['core/engine/tensor_view.h:2: libtorch outside core/backend/*.cpp ("ATen/Tensor.h")'], RULES),
    ("torch pch outside the engine", [("core/hub/fast.cpp", '#include "core/backend/torch_pch.h"')],
     ['core/hub/fast.cpp:1: libtorch outside core/backend/*.cpp ("core/backend/torch_pch.h")',
      "forbidden edge hub -> backend"], RULES),
    ("torch in a nested engine folder", [("core/backend/cuda/kernel.cpp", "#include <c10/cuda/CUDAStream.h>")],
     ['core/backend/cuda/kernel.cpp:1: libtorch outside core/backend/*.cpp'], RULES),
    ("torch TU including the wallet", [("core/backend/train.cpp", "#include <torch/torch.h>",
                                        '#include "core/wallet/wallet.h"')],
     ['core/backend/train.cpp:2: torch translation unit includes "core/wallet/wallet.h"'], RULES),
    ("torch in tests", [("tests/engine/test_stage.cpp", "#include <caffe2/core/macros.h>")],
     ['tests/engine/test_stage.cpp:1: libtorch outside core/backend/*.cpp'], RULES),
    ("--only torch ignores a cycle", [("core/wallet/uses_ledger.h", '#include "core/ledger/ledger.h"'),
                                      ("core/node/trainer.cpp", "#include <torch/torch.h>")],
     ["core/node/trainer.cpp:1: libtorch outside", "1 libtorch violations"], ("torch",)),
]


def self_test():
    failures = []
    with tempfile.TemporaryDirectory(prefix="layering-selftest-") as root:
        _target_tree(root)
        status, output = _run(root)
        print(f"[target structure] exit {status}: {output.strip()}")
        if status != 0 or "no cycles, no forbidden edges" not in output:
            failures.append("the target structure should pass")
        status, output = _run(root, ("torch",))
        print(f"[--only torch] exit {status}: {output.strip()}")
        if status != 0:
            failures.append("--only torch should pass on the target structure")

    if table_cycle():
        failures.append(f"ALLOWED has a cycle: {table_cycle()}")
    for folder, targets in ALLOWED.items():
        if targets != ANY:
            failures += [f"ALLOWED[{folder}] names unknown {t}" for t in targets if t not in ALLOWED]

    for name, extra, expected, rules in _VIOLATIONS:
        with tempfile.TemporaryDirectory(prefix="layering-selftest-") as root:
            _target_tree(root)
            for path, *lines in extra:
                _write(root, path, *lines)
            status, output = _run(root, rules)
            print(f"[{name}] exit {status}:")
            print("    " + output.strip().replace("\n", "\n    "))
            missing = [e for e in expected if e not in output]
            if status != 1:
                failures.append(f"{name}: exit {status}, expected 1")
            if missing:
                failures.append(f"{name}: output lacks {missing}")
            if name.startswith("--only") and "cycle" in output:
                failures.append(f"{name}: reported a cycle")

    for failure in failures:
        print(f"SELF-TEST FAILURE: {failure}")
    print(f"layering self-test: {len(_VIOLATIONS) + 2} cases, "
          + ("all passed" if not failures else f"{len(failures)} failures"))
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source_dir", nargs="?", help="the repository root (holds core/, ui/, app/)")
    parser.add_argument("--only", help="comma-separated rules to check: " + ", ".join(RULES))
    parser.add_argument("--self-test", action="store_true", help="run the checker on synthetic trees")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if not args.source_dir:
        parser.error("SOURCE_DIR is required")
    rules = RULES
    if args.only:
        rules = tuple(r.strip() for r in args.only.split(","))
        unknown = [r for r in rules if r not in RULES]
        if unknown:
            parser.error(f"unknown rule(s) {', '.join(unknown)}; choose from {', '.join(RULES)}")
    return check(args.source_dir, rules)


if __name__ == "__main__":
    sys.exit(main())
