"""The Colab path: one setting holds the repository address (``_config.yml``'s
``repository.url``); every chapter's install cell uses that address; the notebooks ask
Colab for a GPU; the launch links the built book carries are well formed."""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("*.py"))


def _repository() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


@pytest.mark.parametrize("source", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_install_cell_uses_the_configured_repository(source):
    text = source.read_text()
    found = re.findall(r'^REPOSITORY = "([^"]*)"', text, re.M)
    assert found == [_repository()], (f"{source.name}: its install cell's REPOSITORY must equal _config.yml's "
                                      f"repository.url (run scripts/set_repository.py URL)")
    assert "git+{REPOSITORY}" in text and "git+https" not in text, \
        f"{source.name}: the install cell must install from REPOSITORY"


@pytest.mark.parametrize("source", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_notebook_asks_colab_for_a_gpu(source):
    metadata = json.loads(source.with_suffix(".ipynb").read_text())["metadata"]
    assert metadata.get("accelerator") == "GPU", f"{source.stem}.ipynb: no accelerator: GPU in its metadata"
    assert metadata.get("colab", {}).get("gpuType"), f"{source.stem}.ipynb: no colab.gpuType in its metadata"


def test_launch_links_in_the_built_book():
    html = ROOT / "_build" / "html" / "book"
    pages = sorted(html.glob("*.html")) if html.is_dir() else []
    if not pages:
        pytest.skip("no built book (ROBOTPOSE_QUICK=1 make book)")
    links = [m for page in pages for m in re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"',
                                                        page.read_text())]
    assert links, "no Colab launch link in the built pages"
    repo = _repository().removeprefix("https://github.com/")
    for link in links:
        assert "/./" not in link, f"malformed Colab link: {link}"
        assert f"/github/{repo}/blob/" in link and link.endswith(".ipynb"), f"unexpected Colab link: {link}"
