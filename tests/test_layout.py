"""CONTRIBUTING.md's module map names every module of the library (a newcomer finds the
home of each step there)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_contributing_lists_every_module():
    text = (ROOT / "CONTRIBUTING.md").read_text()
    start = text.index("## The pipeline and who owns each arrow")
    section = text[start:text.index("## Robot models")]
    lib = ROOT / "robotpose_lib"
    missing = []
    for path in sorted(lib.rglob("*.py")):
        rel = path.relative_to(lib)
        if rel.name == "__init__.py" and rel.parent != Path("."):
            continue  # a package is listed as its folder
        if rel.parent != Path("."):
            if f"{rel.parts[0]}/" not in section:
                missing.append(str(rel))
        elif rel.name != "__init__.py" and rel.name not in section:
            missing.append(str(rel))
    assert not missing, f"modules missing from CONTRIBUTING.md's module map: {missing}"
