"""The package's layers (docs/architecture.md): every import points down, and no modules import each other in a
circle, so a folder can be read, tested and changed knowing only what lies below it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "vae_lightning"

# Bottom to top; a module may import from its own layer's folder and from the layers below.
LAYERS = [
    {"errors", "atomic_files"},
    {"data"},
    {"models"},
    {"engine"},
    {"config"},
    {"runs"},
    {"analysis"},
    {"callbacks", "reporting"},
    {"cli"},
    {"train", "analyze", "report", "features"},
]


def _part(module: str) -> str:
    """The top-level folder or module of `vae_lightning.<part>...`."""
    return module.split(".")[1]


def _layer(part: str) -> int:
    return next(index for index, parts in enumerate(LAYERS) if part in parts)


def _module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    return ".".join(relative.parts[:-1] if relative.name == "__init__" else relative.parts)


def _imports(path: Path) -> set[str]:
    """Every vae_lightning module `path` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("vae_lightning.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vae_lightning"):
            if node.module == "vae_lightning":
                found |= {f"vae_lightning.{alias.name}" for alias in node.names}
            else:
                found |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return found


def _graph() -> dict[str, set[str]]:
    sources = {_module_name(path): path for path in PACKAGE.rglob("*.py") if "conf" not in path.parts}
    return {name: {imported for imported in _imports(path) if imported in sources and imported != name}
            for name, path in sources.items()}


GRAPH = _graph()


def test_every_top_level_module_and_folder_has_a_layer():
    parts = {_part(name) for name in GRAPH if name != "vae_lightning"}
    assert parts == set().union(*LAYERS)


def upward_imports(graph: dict[str, set[str]], module: str) -> list[str]:
    """What `module` imports from another folder of its own layer or from a layer above."""
    own = _part(module)
    return [imported for imported in sorted(graph[module])
            if _part(imported) != own and _layer(_part(imported)) >= _layer(own)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle of imports found by a depth-first walk, as the modules along it."""
    state: dict[str, str] = {}
    found: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                found.append([*path[path.index(imported):], imported])
            elif imported not in state:
                visit(imported, [*path, imported])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return found


@pytest.mark.parametrize("module", sorted(name for name in GRAPH if name != "vae_lightning"))
def test_imports_point_down_or_stay_in_their_folder(module):
    assert not upward_imports(GRAPH, module), f"{module} imports from its own layer or above"


def test_no_modules_import_each_other_in_a_circle():
    assert not cycles(GRAPH)


def test_the_checks_find_an_upward_import_and_a_circle():
    graph = {"vae_lightning.models.vae": {"vae_lightning.cli.console"}, "vae_lightning.cli.console": set(),
             "vae_lightning.runs.a": {"vae_lightning.runs.b"}, "vae_lightning.runs.b": {"vae_lightning.runs.a"},
             "vae_lightning.callbacks.x": {"vae_lightning.reporting.y"}, "vae_lightning.reporting.y": set()}
    assert upward_imports(graph, "vae_lightning.models.vae") == ["vae_lightning.cli.console"]
    assert upward_imports(graph, "vae_lightning.callbacks.x") == ["vae_lightning.reporting.y"]  # a sibling folder
    assert upward_imports(graph, "vae_lightning.cli.console") == []
    assert cycles(graph) == [["vae_lightning.runs.a", "vae_lightning.runs.b", "vae_lightning.runs.a"]]
