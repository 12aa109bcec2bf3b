"""The docs are a contract: every complete scheme shown in them validates as it is written.

A fenced ```yaml block whose first line is `id:` is a whole scheme a reader may copy into a
file; it must pass `pingji validate` — unless the line above the block says
`<!-- invalid example … -->`, and then it must fail. Fragments (blocks that start with any other key) are
pieces to paste into the skeleton of docs/scheme-language.md §1 and are not checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pingji.errors import SchemeError
from pingji.scheme import load_scheme

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"^(<!-- invalid example[^\n]*-->\n)?```yaml\n(.*?)^```", re.S | re.M)


def complete_schemes() -> list[tuple[str, str, bool]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            invalid, body = bool(match.group(1)), match.group(2)
            if body.lstrip().startswith("id:"):
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{page.name}:{line}", body, invalid))
    return found


EXAMPLES = complete_schemes()


def test_the_docs_show_complete_schemes():
    assert len(EXAMPLES) >= 1


@pytest.mark.parametrize(("where", "text", "invalid"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_complete_scheme_in_the_docs_validates(tmp_path, where, text, invalid):
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    if invalid:
        with pytest.raises(SchemeError):
            load_scheme(path)
    else:
        load_scheme(path)  # raises SchemeError with the file, line and column if it does not
