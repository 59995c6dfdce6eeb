"""The layout tells the architecture: imports go bot -> qa -> index, never back."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["index", "qa", "bot"]  # each may import only the layers before it


def imported_top_level(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", LAYERS)
def test_no_layer_imports_a_later_one(layer: str) -> None:
    forbidden = set(LAYERS[LAYERS.index(layer) + 1 :])
    files = list((REPO / layer).rglob("*.py")) if (REPO / layer).is_dir() else []
    if layer != "bot":
        assert files, f"{layer}/ has no modules"
    offenders = {
        str(f.relative_to(REPO)): sorted(imported_top_level(f) & forbidden)
        for f in files
        if imported_top_level(f) & forbidden
    }
    assert offenders == {}


def test_checker_sees_imports(tmp_path: Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("import qa.service\nfrom bot import x\nfrom . import y\n")
    assert imported_top_level(f) == {"qa", "bot"}
