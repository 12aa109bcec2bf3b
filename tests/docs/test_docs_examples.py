"""The docs are a contract: every YAML example in them is checked as it is written.

Every fenced ```yaml block of docs/*.md is one of:

- a **complete scheme** (its first key is `id:`): it must pass `pingji validate`;
- a **fragment**: it is pasted into the skeleton of docs/scheme-language.md §1 (the first
  complete scheme of that page) and the result must pass `pingji validate`;
- a **sources file** (a first line `# sources.yaml` or `# erp-sources.yaml`, or marked
  `<!-- example: sources -->`): it must load as a sources file;
- an **error example**, marked by the line `<!-- example: error -->` (or the older
  `<!-- invalid example … -->`) right above it: validation must fail, and when the doc shows
  the message in the next ```text block, the message is exactly that.

A fragment is placed by its shape: top-level scheme keys (`metrics:`, `tree:`, `grades:` …)
replace or extend the skeleton's; indented `name: {…}` lines are metrics; a list is tree
nodes, added to the skeleton's root (a node id of the fragment replaces the skeleton's node);
a mapping with `rule:` is one indicator (its value the skeleton's `collection` unless it says
`value:`). A line `...` stands for "the rest of the scheme". The line above the block may say
more, machine-readably: `<!-- example: uses=§4.1,§4.3 in=grades entity=suppliers alternatives -->`:

- `uses=§X.Y,…` — the fragment uses names defined by the fragments of those sections, which
  are pasted first (recursively); `§X.Y#N` is the section's N-th YAML block alone;
- `in=grades` (or another top-level key) — the fragment's keys belong under that key;
- `entity=suppliers` — the skeleton is `{id, entity: suppliers, period: year}` alone;
- `base=customer-rfm` — the skeleton is that built-in scheme;
- `alternatives` — each line is a fragment of its own (the doc lists alternative lines).

No block is skipped: a block the test cannot place fails.
"""

from __future__ import annotations

import copy
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from pingji.cli.main import main
from pingji.data.sources import read_sources
from pingji.errors import SchemeError
from pingji.scheme import load_scheme
from pingji.templates import builtin_path

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", re.M)
MARK = re.compile(r"<!-- (?:example:(?P<opts>[^\n]*?)|(?P<old>invalid example)[^\n]*?) -->\n$")
TOP_KEYS = {
    "params", "extra_columns", "tables", "metrics", "tree", "evidence", "grades", "classes",
    "consequences", "outputs", "checks", "notes", "display",
}  # fmt: skip


@dataclass
class Block:
    where: str  # page:line
    section: str  # the § number of the heading above it ('' before the first)
    text: str
    opts: dict[str, str] = field(default_factory=dict)
    message: str | None = None  # the ```text block right after an error example

    @property
    def error(self) -> bool:
        return "error" in self.opts

    @property
    def complete(self) -> bool:
        return self.text.lstrip().startswith("id:")

    @property
    def sources(self) -> bool:
        first = self.text.lstrip().split("\n", 1)[0]
        return "sources" in self.opts or bool(re.fullmatch(r"# [\w-]*sources\.yaml", first))


def yaml_blocks() -> list[Block]:
    blocks = []
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        fences = list(FENCE.finditer(text))
        for i, match in enumerate(fences):
            if match.group(1) != "yaml":
                continue
            before = text[: match.start()]
            sections = HEADING.findall(before)
            mark = MARK.search(before[-300:])
            opts: dict[str, str] = {}
            if mark and mark.group("old"):
                opts["error"] = ""
            elif mark:
                for word in mark.group("opts").split():
                    key, _, value = word.partition("=")
                    opts[key] = value
            block = Block(
                where=f"{page.name}:{before.count(chr(10)) + 1}",
                section=sections[-1] if sections else "",
                text=match.group(2),
                opts=opts,
            )
            if block.error and i + 1 < len(fences):
                after = fences[i + 1]
                if after.group(1) == "text" and text[match.end() : after.start()].strip() == "":
                    block.message = after.group(2)
            blocks.append(block)
    return blocks


class YAML12Loader(yaml.SafeLoader):
    """A loader that reads `on`, `yes`, `no` as text, as pingji's loader (YAML 1.2) does."""


YAML12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
YAML12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_yaml(text: str):
    return yaml.load(text, Loader=YAML12Loader)


BLOCKS = yaml_blocks()
SKELETON_BLOCK = next(
    b for b in BLOCKS if b.where.startswith("scheme-language.md") and b.complete and not b.error
)
SKELETON = load_yaml(SKELETON_BLOCK.text)


def fragment_parts(block: Block) -> list[str]:
    """The YAML texts of a fragment, without `...` lines; one per line for `alternatives`."""
    lines = [line for line in block.text.splitlines() if line.strip() != "..."]
    if "alternatives" in block.opts:
        return [textwrap.dedent(line) for line in lines if line.strip()]
    return [textwrap.dedent("\n".join(lines))]


def drop_nodes(node: dict, ids: set[str]) -> None:
    if "children" in node:
        node["children"] = [c for c in node["children"] if c.get("id") not in ids]
        for child in node["children"]:
            drop_nodes(child, ids)


def node_ids(nodes: list) -> set[str]:
    found = set()
    for node in nodes:
        found.add(node.get("id"))
        found |= node_ids(node.get("children", []))
    return found


def add_nodes(scheme: dict, nodes: list) -> None:
    """Add tree nodes to the root (relative weights), replacing nodes of the same ids."""
    root = scheme.setdefault("tree", {"id": "total", "children": []})
    if "weights_by" in root:  # its profiles weight exactly its children: add beside it
        root = scheme["tree"] = {"id": "snippet_root", "children": [root]}
    drop_nodes(root, node_ids(nodes))
    root["children"] = root.get("children", []) + copy.deepcopy(nodes)
    root["weighting"] = "ratios"
    for child in root["children"]:
        child.setdefault("weight", 1)


def paste(scheme: dict, data, into: str | None) -> None:
    """Paste one parsed fragment into a scheme (see the module docstring)."""
    if into:
        data = {into: data}
    if isinstance(data, list):
        add_nodes(scheme, data)
        return
    assert isinstance(data, dict), f"cannot place a fragment of type {type(data).__name__}"
    if "rule" in data or "value" in data:
        add_nodes(scheme, [{"id": "snippet", "max": 100, "value": "collection", **data}])
        return
    if not set(data) <= TOP_KEYS:
        data = {"metrics": data}  # indented `name: {…}` lines
    for key, value in data.items():
        if key in ("metrics", "params", "extra_columns", "tables"):
            scheme.setdefault(key, {}).update(value)
        elif key == "grades" and "levels" not in value and "grades" in scheme:
            scheme["grades"].update(value)
        elif key == "tree" and isinstance(value, list):
            add_nodes(scheme, value)
        else:
            scheme[key] = value


def used_fragments(ref: str, context: dict[str, str]) -> list[Block]:
    """The fragments `uses=§4.1` (all of the section, of the same skeleton) or `§6.2#2` (the
    section's second YAML block) names."""
    section, _, nth = ref.lstrip("§").partition("#")
    blocks = [b for b in BLOCKS if b.section == section and b.where.startswith("scheme-language")]
    if nth:
        return blocks[int(nth) - 1 : int(nth)]
    return [
        b
        for b in blocks
        if not (b.complete or b.error or b.sources)
        and all(b.opts.get(k) == context.get(k) for k in ("entity", "base"))
    ]


def skeleton(opts: dict[str, str]) -> dict:
    if "base" in opts:
        return load_yaml(builtin_path(opts["base"]).read_text(encoding="utf-8"))
    if "entity" in opts:
        return {"id": "my-scheme", "entity": opts["entity"], "period": "year"}
    return copy.deepcopy(SKELETON)


def assemble(block: Block, seen: set[str] | None = None, scheme: dict | None = None) -> dict:
    """The skeleton with the fragments a block uses, then the block, pasted in."""
    seen = seen if seen is not None else set()
    scheme = skeleton(block.opts) if scheme is None else scheme
    seen.add(block.where)
    for ref in filter(None, block.opts.get("uses", "").split(",")):
        found = used_fragments(ref, block.opts)
        assert found, f"{block.where}: uses={ref} names no fragment"
        for used in found:
            if used.where not in seen:
                assemble(used, seen, scheme)
    for part in fragment_parts(block):
        paste(scheme, load_yaml(part), block.opts.get("in"))
    return scheme


def validate_text(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    load_scheme(path)  # raises SchemeError with the file, line and column if it does not


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_every_yaml_example_in_the_docs_is_what_it_says(tmp_path, capsys, monkeypatch, block):
    if block.sources:
        (tmp_path / "sources.yaml").write_text(block.text, encoding="utf-8")
        read_sources(tmp_path / "sources.yaml")
        return
    text = (
        block.text
        if block.complete
        else yaml.safe_dump(assemble(block), allow_unicode=True, sort_keys=False)
    )
    if not block.error:
        try:
            validate_text(tmp_path, "example.yaml", text)
        except SchemeError as e:
            pytest.fail(f"{block.where} (as validated):\n{text}\n{e}")
        return
    # an error example: validation fails, with the message the doc shows after it
    shown = block.message or ""
    command = re.match(r"\$ pingji validate (\S+)\n", shown)
    name = command.group(1) if command else f"{load_yaml(text).get('id', 'my-scheme')}.yaml"
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["validate", name]) == 2
    out = capsys.readouterr()
    printed = out.out + out.err
    if command:
        assert printed == shown[command.end() :]
    elif shown:
        assert printed.startswith(shown)


def test_the_docs_show_examples_of_every_kind():
    kinds = {
        "complete": sum(b.complete and not b.error for b in BLOCKS),
        "fragment": sum(not (b.complete or b.error or b.sources) for b in BLOCKS),
        "error": sum(b.error for b in BLOCKS),
        "error with its message": sum(b.error and b.message is not None for b in BLOCKS),
        "sources": sum(b.sources for b in BLOCKS),
    }
    assert all(kinds.values()), kinds
