"""The shape of the code: layers import downwards only.

transports (handlers/, server/, main.py) → features (canteen, craftsman_directory, delivery,
grid, groups, places, push) → bot (dialogue, NLU) → community → models, infra, settings.

A cycle between top-level packages, a domain importing a transport, or the bot importing a
feature would let one rule grow a second home; these tests read the imports (statically, every
`import` statement in every module, function-level ones included) and name the offending file.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_CODE = {"tests", "bench", "migrations", ".venv", "build", "data"}
TRANSPORTS = {"handlers", "server", "main"}
# Everything that stands on the base and is not a transport is a feature (a domain or the
# dialogue across domains): the list grows by itself as packages are added.
BASE = {"bot", "community", "models", "infra", "settings", "wechat_api"}


def _top_levels() -> set[str]:
    packages = {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and p.name not in NOT_CODE and any(p.glob("*.py"))
    }
    return packages | {p.stem for p in ROOT.glob("*.py")}


def _imports() -> dict[tuple[str, str], set[str]]:
    """(importing top level, imported top level) → files where it happens."""
    tops = _top_levels()
    found: dict[tuple[str, str], set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in NOT_CODE:
            continue
        source = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                target = name.split(".")[0]
                if target in tops and target != source:
                    found[(source, target)].add(str(rel))
    return found


def test_no_import_cycles_between_top_level_packages() -> None:
    edges = _imports()
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return False

    cycles = sorted(
        f"{a} -> {b} ({', '.join(sorted(edges[(a, b)]))})"
        for a, b in edges
        if reaches(b, a)
    )
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_transports_import_transports() -> None:
    wrong = sorted(
        f"{a} imports {b}: {', '.join(sorted(files))}"
        for (a, b), files in _imports().items()
        if b in TRANSPORTS and a not in TRANSPORTS
    )
    assert not wrong, "\n".join(wrong)


def test_the_base_knows_no_feature() -> None:
    """Features register routers with the bot; the bot reaches them only through those, and
    the community, models and infra serve every feature alike."""
    features = _top_levels() - BASE - TRANSPORTS
    assert {"canteen", "delivery", "family", "places"} <= features  # the check sees them
    wrong = sorted(
        f"{a} imports {b}: {', '.join(sorted(files))}"
        for (a, b), files in _imports().items()
        if a in BASE and b in features
    )
    assert not wrong, "\n".join(wrong)
