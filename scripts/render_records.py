"""Render every model folder's card.md and the index assets/models/README.md from the
records (lineage.json, eval.json; robotpose_lib.records). Never edit those by hand.

    python scripts/render_records.py [MODELS_DIR]
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from robotpose_lib import records  # noqa: E402


def main() -> int:
    models = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "assets" / "models"
    for folder in sorted(p for p in models.iterdir() if (p / records.LINEAGE).is_file()):
        print(records.write_card(folder))
    print(records.write_index(models))
    return 0


if __name__ == "__main__":
    sys.exit(main())
