"""No test asserts a duration: on a loaded machine a correct program is slow, and a timed
assertion fails it. Speed is measured in bench/ (ratios against peers, same invocation).

Reads every test module's syntax tree: a name assigned from a clock (`time.perf_counter()`,
`monotonic()`, `time()`...), or from anything computed with one, is a clock value; an
`assert` that reads a clock or a clock value is a timing assertion. A deadline that bounds a
wait (`while time.monotonic() < deadline`) is no assertion and is fine.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
CLOCKS = {"perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns", "process_time", "process_time_ns", "thread_time"}


def _reads_clock(node: ast.AST, clock_names: set[str]) -> bool:
    for child in ast.walk(node):
        if isinstance(child, ast.Call):
            func = child.func
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "time" and func.attr in CLOCKS:
                return True  # time.perf_counter()
            if isinstance(func, ast.Name) and func.id in CLOCKS - {"time"}:
                return True  # perf_counter(), imported from time (a bare time() may be anything)
        if isinstance(child, ast.Name) and child.id in clock_names:
            return True
    return False


def timing_assertions(source: str) -> list[int]:
    """Line numbers of the assertions that read a clock, in one module's source."""
    tree = ast.parse(source)
    clock_names: set[str] = set()
    changed = True
    while changed:  # until no new name is found to hold a clock value
        changed = False
        for node in ast.walk(tree):
            targets: list[ast.AST] = []
            value: ast.AST | None = None
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                value = node.value
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("append", "extend", "add"):
                targets, value = [node.func.value], ast.Tuple(elts=list(node.args), ctx=ast.Load())
            if value is None or not _reads_clock(value, clock_names):
                continue
            for target in targets:
                for name in (n.id for n in ast.walk(target) if isinstance(n, ast.Name)):
                    if name not in clock_names:
                        clock_names.add(name)
                        changed = True
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Assert) and _reads_clock(node.test, clock_names)]


def test_the_checker_finds_timing_assertions() -> None:
    assert timing_assertions("import time\nt = time.perf_counter()\nwork()\nassert time.perf_counter() - t < 1\n") == [4]
    assert timing_assertions("from time import monotonic\nstart = monotonic()\nelapsed = monotonic() - start\nassert elapsed < 60\n") == [4]
    assert timing_assertions("import time\ntimings = []\ntimings.append(time.perf_counter())\nassert min(timings) < 1.0\n") == [4]
    assert timing_assertions("import time\ndeadline = time.monotonic() + 90\nwhile time.monotonic() < deadline:\n    pass\nassert ok\n") == []
    assert timing_assertions("assert parse(x).published.time() == y\n") == []


@pytest.mark.parametrize("module", sorted(p.name for p in TESTS.glob("*.py")))
def test_no_test_asserts_a_duration(module: str) -> None:
    found = timing_assertions((TESTS / module).read_text(encoding="utf-8"))
    assert not found, f"tests/{module}: timing assertions at lines {found}; measure speed in bench/ instead"
