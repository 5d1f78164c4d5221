"""The package map of docs/CONTRACTS.md holds: data flows one way, and the method's modules never
import the tutorial's plumbing. A module may import only modules of a lower layer (or its own)."""
import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sbka_lite"
LAYERS = [
    ["paths", "device"],
    ["config", "data", "losses", "distances", "ownership", "metrics_reference", "selection"],
    ["models", "metrics_conventions", "codebooks", "schedule", "model_identity"],
    ["metrics_engine"],
    ["metrics"],
    ["objective", "retrieval", "gap", "distributed", "checkpoint", "pretrain", "features"],
    ["evaluation", "teacher_knowledge", "sbka", "run_folder"],
    ["trainer", "run_logs", "plots"],
    ["build", "unseen"],
    ["train", "search"],
    ["tutorial"],
    ["experiments"],
    ["sweep", "ablation"],  # `python -m sbka_lite.sweep` / `.ablation`: the CLI shims
]
LAYER = {name: depth for depth, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {_top(m) for m in found if m.startswith("sbka_lite.")}


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE)


def test_every_module_has_a_place_on_the_map():
    tops = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert tops <= set(LAYER), f"add {sorted(tops - set(LAYER))} to LAYERS (and docs/CONTRACTS.md)"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_data_flows_one_way(path):
    me = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upstream = {name for name in _imports(path) - {me} if LAYER[name] >= LAYER[me]}
    assert not upstream, f"{path.relative_to(PACKAGE)} imports {sorted(upstream)}, which are not below it on the map"


def test_the_trainer_knows_nothing_of_the_method():
    """The engine steps whatever totals a model returns: the method (its teacher, mask rows, phases,
    where it starts) lives in `sbka_lite.sbka` and `sbka_lite.objective`, built by `sbka_lite.train`."""
    path = PACKAGE / "trainer.py"
    source = path.read_text().replace("sbka_lite", "")
    named = sorted({word.lower() for word in re.findall(r"teacher|mask|phase|photo_world|pretrain|gaussian|sbka", source, re.I)})
    assert not named, f"trainer.py names {named}"
    assert _imports(path) <= {"data", "device", "distributed", "features"}, _imports(path)  # features: the image loop
