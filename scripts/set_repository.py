"""Set the repository address the book points to, in its one home and every copy of it.

    python scripts/set_repository.py https://github.com/OWNER/NAME [--branch main]

The address lives in `_config.yml` (`repository.url`, with `repository.branch`): the book's
repository, issues and launch (Colab) buttons use it. Each chapter's install cell needs it
too, on Colab, where there is no `_config.yml`: its `REPOSITORY = "..."` line is a copy that
this script rewrites, and `tests/test_colab.py` checks that every copy equals the setting.
Afterwards the notebooks are synced with their py:percent sources (jupytext).
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY_LINE = re.compile(r'^REPOSITORY = "[^"]*"', re.M)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url", help="https://github.com/OWNER/NAME")
    p.add_argument("--branch", help="the branch the launch buttons open (default: unchanged)")
    args = p.parse_args()
    if not re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", args.url):
        raise SystemExit(f"{args.url}: expected https://github.com/OWNER/NAME (the launch buttons need GitHub)")
    config = ROOT / "_config.yml"
    text = re.sub(r"(?m)^(repository:\n(?:  .*\n)*?  url: ).*$", rf"\g<1>{args.url}", config.read_text())
    if args.branch:
        text = re.sub(r"(?m)^(repository:\n(?:  .*\n)*?  branch: ).*$", rf"\g<1>{args.branch}", text)
    config.write_text(text)
    changed = []
    for chapter in sorted((ROOT / "book").glob("*.py")):
        source = chapter.read_text()
        new = REPOSITORY_LINE.sub(f'REPOSITORY = "{args.url}"', source)
        if new != source:
            chapter.write_text(new)
            changed.append(chapter)
    if changed:
        subprocess.run([sys.executable, "-m", "jupytext", "--sync", *map(str, changed)], check=True,
                       stdout=subprocess.DEVNULL)
    print(f"repository {args.url}: _config.yml and {len(changed)} chapter(s) updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
