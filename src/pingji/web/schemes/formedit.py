"""The form editor of a scheme draft: the values analysts change (weights, thresholds of
linear and band rules, pass marks, grade bands and colours, labels) as form fields, written
back into the same YAML text.

Only the changed values' characters change: ruamel.yaml composes the text into nodes that
know where each value starts and ends, and each edit replaces just that span (or inserts one
`key: value`, or removes one). Comments, blank lines, key order, flow `{…}` and block layout
all stay as the analyst wrote them; ruamel's dumper would reflow hand-aligned flow mappings.
The result is then checked like any YAML edit (services.check_yaml / check_fits).

No HTTP here: the view builds a `SchemeForm`, binds posted values and asks for the new text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pingji.scheme.colors import is_color
from pingji.scheme.resolve import WEIGHT_TOLERANCE, ResolvedScheme

Path_ = tuple[str | int, ...]

# words YAML 1.1 readers (PyYAML, many tools) take for booleans or null: always quoted
YAML11_WORDS = frozenset(["y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"])

# the band edges a form may change, in the order they are shown, with their sign
EDGES = (("equals", "="), ("from", "≥"), ("above", ">"), ("upto", "≤"), ("below", "<"))


class FormProblem(ValueError):
    """The text cannot take an edit safely (an aliased value, a layout it cannot change)."""


# ------------------------------------------------------------------ where values sit


@dataclass
class Located:
    """The composed YAML of one text: each value node and each key node by field path."""

    values: dict[Path_, Node] = field(default_factory=dict)
    keys: dict[Path_, ScalarNode] = field(default_factory=dict)
    parents: dict[Path_, MappingNode] = field(default_factory=dict)  # the mapping of a key
    shared: set[Path_] = field(default_factory=set)  # reached through an alias: not editable


def locate(text: str) -> Located:
    """Compose `text` with ruamel.yaml and index its nodes by field path."""
    root = YAML(typ="rt").compose(text)
    found = Located()
    seen: dict[int, Path_] = {}

    def walk(node: Node, path: Path_) -> None:
        if id(node) in seen:  # an alias: editing it would change the anchor's value too
            found.shared.add(path)
            found.shared.add(seen[id(node)])
        seen[id(node)] = path
        found.values[path] = node
        if isinstance(node, MappingNode):
            for key, value in node.value:
                sub = (*path, key.value)
                found.keys[sub] = key
                found.parents[sub] = node
                walk(value, sub)
        elif isinstance(node, SequenceNode):
            for i, value in enumerate(node.value):
                walk(value, (*path, i))

    if root is not None:
        walk(root, ())
    return found


# ------------------------------------------------------------------------ the fields


@dataclass
class FormField:
    """One editable value: where it is in the YAML, what it is, what it holds now."""

    path: Path_
    kind: str  # number | fraction | text | color
    label: str
    initial: str  # the value as the text holds it ("" when the key is absent)
    optional: bool = False  # may be emptied (the key is then removed) or added
    anchor: str | None = None  # the key after which an absent optional key is inserted
    weight_of: str | None = None  # the group whose weights this field is one of
    value: str = ""  # as posted (or the initial value)
    error: str | None = None

    @property
    def name(self) -> str:
        """Return the form field's name: the field path, e.g. tree.children.0.weight."""
        return ".".join(map(str, self.path))

    @property
    def html_id(self) -> str:
        """Return an id for the field's <input>."""
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name)


@dataclass
class Section:
    """A card of the form: the scheme, a group with its children's weights, an indicator,
    or the grades."""

    title: str
    note: str = ""  # a sentence under the title
    code: str = ""  # the node's id, shown as code
    fields: list[FormField] = field(default_factory=list)
    weights: str | None = None  # the group id when the section holds its children's weights
    weights_must_sum: bool = False  # `weighting: fractions`: the weights add up to 1
    weights_error: str | None = None
    weights_sum: str = ""  # the sum as the page first shows it (the script keeps it live)
    depth: int = 0


def _text(node: Node | None) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else ""


def _num_words(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


class SchemeForm:
    """The form of one draft: sections of fields built from its resolved scheme and text."""

    def __init__(self, rs: ResolvedScheme) -> None:
        self.rs = rs
        self.text = rs.text
        self.located = locate(rs.text)
        self.sections: list[Section] = []
        self.errors: list[str] = []  # problems that belong to no one field
        self._build()

    # ------------------------------------------------------------------ building

    @property
    def digest(self) -> str:
        """Return a fingerprint of the text the form was built from (refuses stale posts)."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    @property
    def fields(self) -> list[FormField]:
        """Return every field of every section."""
        return [f for s in self.sections for f in s.fields]

    def _add(
        self,
        section: Section,
        path: Path_,
        kind: str,
        label: str,
        optional: bool = False,
        anchor: str | None = None,
        weight_of: str | None = None,
    ) -> FormField | None:
        node = self.located.values.get(path)
        if path in self.located.shared:
            return None
        if node is None and not (optional and (*path[:-1], anchor) in self.located.values):
            return None
        if node is not None and not isinstance(node, ScalarNode):
            return None
        initial = _text(node)
        f = FormField(path, kind, label, initial, optional, anchor, weight_of, value=initial)
        section.fields.append(f)
        return f

    def _build(self) -> None:
        s = self.rs.scheme
        head = Section(_("方案"))
        self._add(head, ("label",), "text", _("方案名称"), optional=True, anchor="id")
        self.sections.append(head)
        for rn in self.rs.nodes.values():
            self._node_section(rn)
        if s.grades is not None:
            self._grades_section()
        self._sums()

    def _sums(self) -> None:
        for section in self.sections:
            if section.weights:
                total = self.weight_sum(section)
                section.weights_sum = "" if total is None else _plain(total)

    def _node_section(self, rn) -> None:
        node, path = rn.node, rn.path
        kind = _("分组") if node.is_group else _("指标")
        section = Section(f"{kind} · {node.label or node.id}", depth=rn.depth)
        section.code = node.id
        self._add(section, (*path, "label"), "text", _("名称"), optional=True, anchor="id")
        if node.pass_points is not None:
            self._add(section, (*path, "pass_points"), "number", _("及格分"), optional=True)
        else:
            self._add(
                section,
                (*path, "pass"),
                "fraction",
                _("及格线（占满分的比例，0–1；留空表示不设）"),
                optional=True,
                anchor="id",
            )
        if node.is_group:
            weighting = node.weighting or (
                "fractions"
                if any(ch.weight is not None for ch in node.children or [])
                else "points"
            )
            if node.weights_by is None and weighting in ("fractions", "ratios"):
                section.weights = node.id
                section.weights_must_sum = weighting == "fractions"
                for i, child in enumerate(node.children or []):
                    self._add(
                        section,
                        (*path, "children", i, "weight"),
                        "number",
                        _("权重：%(name)s") % {"name": child.label or child.id},
                        weight_of=node.id,
                    )
        else:
            self._rule_fields(section, rn)
        if len(section.fields):
            self.sections.append(section)

    def _rule_fields(self, section: Section, rn) -> None:
        rule, rp = rn.node.rule, (*rn.path, "rule")
        if rule is None:
            return
        if rule.kind == "linear":
            for key, words in (
                ("zero_at", _("零分点（此值得 0 分）")),
                ("full_at", _("满分点（此值得满分）")),
            ):
                if isinstance(getattr(rule.linear, key), str):
                    said = _("%(what)s由参数 %(param)s 决定，运行时可改。") % {
                        "what": words.split("（")[0],
                        "param": getattr(rule.linear, key),
                    }
                    section.note = f"{section.note} {said}".strip()
                    continue
                self._add(section, (*rp, "linear", key), "number", words)
        elif rule.kind == "bands":
            base = (*rp, "bands")
            if isinstance(self.located.values.get(base), MappingNode):
                base = (*base, "bands")  # `bands: {better: …, bands: [...]}`
            for i, band in enumerate(rule.bands.bands):
                where = (*base, i)
                name = _("第 %(n)s 档") % {"n": i + 1}
                for key, sign in EDGES:
                    self._add(section, (*where, key), "number", f"{name} {sign}")
                if isinstance(band.points, tuple):
                    self._add(
                        section, (*where, "points", 0), "number", f"{name} " + _("得分（下端）")
                    )
                    self._add(
                        section, (*where, "points", 1), "number", f"{name} " + _("得分（上端）")
                    )
                else:
                    self._add(section, (*where, "points"), "number", f"{name} " + _("得分"))

    def _grades_section(self) -> None:
        section = Section(_("等级"))
        section.note = _(
            "从最好的等级往下；每个等级从它的下限（≥ 或 >）起，到上一个等级的下限为止。"
        )
        for i, level in enumerate(self.rs.scheme.grades.levels):
            lp: Path_ = ("grades", "levels", i)
            name = level.grade
            self._add(section, (*lp, "label"), "text", f"{name} · " + _("名称"), True, "grade")
            self._add(section, (*lp, "color"), "color", f"{name} · " + _("颜色"), True, "grade")
            self._add(section, (*lp, "min"), "number", f"{name} · " + _("下限（≥）"))
            self._add(section, (*lp, "above"), "number", f"{name} · " + _("下限（>）"))
            self._add(section, (*lp, "below"), "number", f"{name} · " + _("上限（<）"))
        self.sections.append(section)

    # ------------------------------------------------------------------- binding

    def bind(self, data) -> bool:
        """Take posted values (a QueryDict or dict); check each; return whether all are valid.

        A field not posted keeps its value. The checks here are the ones a user can break
        from the form, worded next to the field; the whole scheme is checked afterwards."""
        ok = True
        for f in self.fields:
            if f.name in data:
                f.value = str(data.get(f.name, "")).strip()
            f.error = self._check(f)
            ok = ok and f.error is None
        for section in self.sections:
            section.weights_error = self._check_sum(section)
            ok = ok and section.weights_error is None
        self._sums()
        return ok

    def _check(self, f: FormField) -> str | None:
        if f.value == "":
            return None if f.optional else _("不能为空。")
        if f.kind in ("number", "fraction"):
            number = parse_number(f.value)
            if number is None:
                return _("“%(value)s”不是数字；请写如 0.25 或 100000 这样的数。") % {
                    "value": f.value[:40]
                }
            if f.kind == "fraction" and not Decimal(0) <= number <= Decimal(1):
                return _("及格线是占满分的比例，应在 0 到 1 之间（如 0.6 表示 60%）。")
            if f.weight_of is not None and number < 0:
                return _("权重不能为负数。")
        if f.kind == "color" and not is_color(f.value):
            return _(
                "“%(value)s”不是颜色；请写 #rgb、#rrggbb（如 #1a9850）或 CSS 颜色名（如 green）。"
            ) % {"value": f.value[:40]}
        if f.kind == "text" and ("\n" in f.value or len(f.value) > 200):
            return _("名称为一行，不超过 200 个字符。")
        return None

    def weight_sum(self, section: Section) -> Decimal | None:
        """Return the sum of a section's weights as posted (None if one is not a number)."""
        weights = [f for f in section.fields if f.weight_of is not None]
        numbers = [parse_number(f.value) for f in weights]
        if not weights or any(n is None for n in numbers):
            return None
        return sum(numbers, Decimal(0))

    def _check_sum(self, section: Section) -> str | None:
        if not section.weights_must_sum:
            return None
        total = self.weight_sum(section)
        if total is None or abs(total - 1) <= Decimal(str(WEIGHT_TOLERANCE)):
            return None
        return _("权重合计为 %(sum)s，应为 1。此分组按比例（fractions）加权。") % {
            "sum": _plain(total)
        }

    # ----------------------------------------------------------------- the text

    def changes(self) -> dict[Path_, Any]:
        """Return {path: new value} for the fields whose value changed (None = remove)."""
        out: dict[Path_, Any] = {}
        for f in self.fields:
            if f.value == f.initial:
                continue
            if f.kind in ("number", "fraction"):
                old, new = parse_number(f.initial), parse_number(f.value)
                if old is not None and new is not None and old == new:
                    continue  # 0.30 typed as 0.3: the text keeps its own spelling
                out[f.path] = None if f.value == "" else new
            else:
                out[f.path] = None if f.value == "" else f.value
        return out

    def new_text(self) -> str:
        """Return the YAML text with the changed values written in (layout kept)."""
        fields = {f.path: f for f in self.fields}
        edits: list[tuple[int, int, str]] = []
        for path, value in self.changes().items():
            edits.append(self._edit(fields[path], value))
        text = self.text
        for start, end, insert in sorted(edits, key=lambda e: e[0], reverse=True):
            text = text[:start] + insert + text[end:]
        _verify(text, self.changes())
        return text

    def _edit(self, f: FormField, value: Any) -> tuple[int, int, str]:
        loc, path = self.located, f.path
        node = loc.values.get(path)
        if node is not None and value is not None:
            return node.start_mark.index, node.end_mark.index, _scalar(value)
        if node is not None:  # remove the key
            return _removal(self.text, loc.keys[path], node, loc.parents[path])
        # insert `key: value` after the anchor key's value
        anchor_path = (*path[:-1], f.anchor)
        anchor = loc.values[anchor_path]
        mapping = loc.parents[anchor_path]
        item = f"{path[-1]}: {_scalar(value)}"
        end = anchor.end_mark.index
        if mapping.flow_style:
            return end, end, f", {item}"
        line_end = self.text.find("\n", end)
        line_end = len(self.text) if line_end < 0 else line_end
        indent = " " * loc.keys[anchor_path].start_mark.column
        return line_end, line_end, f"\n{indent}{item}"


# ------------------------------------------------------------------------- helpers


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str) -> Decimal | None:
    """Return the number a user typed (thousands commas allowed), or None."""
    text = text.strip().replace(",", "").replace(",", "").replace("_", "")
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() and abs(number) < Decimal("1e15") else None


def _plain(number: Decimal) -> str:
    """Return a decimal without exponent or trailing zeros: 0.30 → 0.3, 1E+5 → 100000."""
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


def _scalar(value: Any) -> str:
    """Return a value as a YAML scalar: a number as written, a string plain when that reads
    back as the same string (in block and flow context alike), else double-quoted."""
    if isinstance(value, Decimal):
        return _plain(value)
    text = str(value)
    safe = YAML(typ="safe", pure=True)
    try:
        plain = (
            text.lower() not in YAML11_WORDS
            and text == text.strip()
            and "\n" not in text
            and safe.load(f"k: {text}") == {"k": text}
            and safe.load(f"[{text}]") == [text]
        )
    except Exception:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def _removal(text: str, key: ScalarNode, value: Node, mapping: MappingNode) -> tuple[int, int, str]:
    """Return the edit that removes `key: value` from its mapping."""
    start, end = key.start_mark.index, value.end_mark.index
    if mapping.flow_style:
        before = text.rfind(",", mapping.start_mark.index, start)
        if before >= 0 and not text[before + 1 : start].strip():
            return before, end, ""
        after = re.compile(r"\s*,\s*").match(text, end)
        if after:
            return start, after.end(), ""
        raise FormProblem(_("无法在表单中删除这一项；请在 YAML 中修改。"))
    line_start = text.rfind("\n", 0, start) + 1
    if text[line_start:start].strip():  # `- pass: 0.6`: the key opens a list item
        raise FormProblem(_("无法在表单中删除这一项；请在 YAML 中修改。"))
    line_end = text.find("\n", end)
    return line_start, (len(text) if line_end < 0 else line_end + 1), ""


def _verify(text: str, changes: dict[Path_, Any]) -> None:
    """Read the new text back and check every changed path holds what was written."""
    data = YAML(typ="safe", pure=True).load(text)
    for path, want in changes.items():
        here: Any = data
        for step in path:
            try:
                here = here[step]
            except (KeyError, IndexError, TypeError):
                here = None
                break
        if want is None:
            ok = here is None
        elif isinstance(want, Decimal):
            ok = isinstance(here, int | float) and Decimal(str(here)) == want
        else:
            ok = here == want
        if not ok:
            raise FormProblem(
                _("无法安全写入 %(path)s；请在 YAML 中修改。") % {"path": ".".join(map(str, path))}
            )


def with_version_number(text: str, number: int) -> str:
    """Return the YAML with its top-level `version:` set to `number` (inserted after `id`
    when absent); every other character stays. A version that is not a whole number (a
    name such as `2026-A`) is the author's own and is left as it is."""
    loc = locate(text)
    node = loc.values.get(("version",))
    if (
        isinstance(node, ScalarNode)
        and ("version",) not in loc.shared
        and not node.style
        and re.fullmatch(r"[0-9]+", node.value)
    ):
        return text[: node.start_mark.index] + str(number) + text[node.end_mark.index :]
    anchor = loc.values.get(("id",))
    if node is not None or not isinstance(anchor, ScalarNode):
        return text  # a version written some other way: left as it is
    root = loc.values[()]
    end = anchor.end_mark.index
    if getattr(root, "flow_style", False):
        return text[:end] + f", version: {number}" + text[end:]
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    indent = " " * loc.keys[("id",)].start_mark.column
    return text[:line_end] + f"\n{indent}version: {number}" + text[line_end:]
