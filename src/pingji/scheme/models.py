"""The scheme language as typed models: what a scheme YAML file may say, and nothing else."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    model_validator,
)

from pingji.scheme.colors import check_color

# Strict: `true` or "10" where a number belongs is a mistake, not 1 or 10. Finite: `.nan`,
# `.inf` and `1e400` (read as infinity) would pass the check and break or skew a run later.
FiniteFloat = Annotated[StrictFloat, Field(allow_inf_nan=False)]
Number = StrictInt | FiniteFloat

# How a number is shown on pages and in exports (output/numbers.py): a rate 0.92 as 92.0%,
# an amount as 12,500.00. Display only: the stored value is never changed by it.
NumberFormat = Literal["percent", "money", "number", "integer"]
Decimals = Annotated[int, Field(ge=0, le=6)]


class Model(BaseModel):
    """Base of every scheme model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Described(Model):
    """Something with an optional Chinese label and a description."""

    label: str | None = None
    description: str | None = None


# ---------------------------------------------------------------- parameters


class Param(Described):
    """A named parameter with a default that `--param name=value` overrides."""

    default: bool | int | FiniteFloat | str
    type: Literal["number", "money", "integer", "string", "bool"] | None = None


# ------------------------------------------------------------------- metrics


class LastMonths(Model):
    """The N calendar months ending with the period's last month."""

    last_months: Annotated[int, Field(ge=1, le=1200)]


class PeriodsBack(Model):
    """The period N periods before the evaluated one (1 = the previous period)."""

    periods_back: Annotated[int, Field(ge=0, le=1200)]


Window = Literal["period", "previous", "to_date", "all"] | LastMonths | PeriodsBack

AGGREGATIONS = ("sum", "count", "count_distinct", "mean", "min", "max", "first", "last")


class Metric(Described):
    """A measured or derived value per entity; exactly one kind key is given."""

    # aggregations over a fact table: `sum: sales.amount`, `count: sales`
    sum: str | None = None
    count: str | None = None
    count_distinct: str | None = None
    mean: str | None = None
    min: str | None = None
    max: str | None = None
    first: str | None = None
    last: str | None = None
    where: str | None = None
    window: Window = "period"
    # other kinds
    attribute: str | None = None
    latest: str | None = None
    rating: str | None = None
    scale: tuple[Number, Number] | None = None
    expr: str | None = None
    # value when an aggregation finds no rows (sum and count: 0; the others: missing)
    default: Number | None = None
    unit: str | None = None
    format: NumberFormat | None = None  # how the value is shown (percent, money, …)
    decimals: Decimals | None = None  # digits after the point when shown

    @property
    def kinds(self) -> list[str]:
        """Return the kind keys that are set."""
        keys = (*AGGREGATIONS, "attribute", "latest", "rating", "expr")
        return [k for k in keys if getattr(self, k) is not None]

    @property
    def kind(self) -> str:
        """Return the one kind key that is set."""
        return self.kinds[0]

    @property
    def aggregation(self) -> str | None:
        """Return the aggregation name, or None for other kinds."""
        return self.kind if self.kind in AGGREGATIONS else None

    @model_validator(mode="after")
    def _one_kind(self) -> Metric:
        kinds = self.kinds
        if len(kinds) != 1:
            allowed = ", ".join((*AGGREGATIONS, "attribute", "latest", "rating", "expr"))
            got = ", ".join(kinds) or "none"
            raise ValueError(f"a metric needs exactly one of {allowed} (got {got})")
        if self.rating is not None and self.scale is None:
            raise ValueError("a rating metric needs `scale: [min, max]`")
        if self.scale is not None and self.rating is None:
            raise ValueError("`scale` belongs to a rating metric")
        if self.aggregation is None and self.default is not None:
            raise ValueError("`default` belongs to aggregations (the value when no rows are found)")
        if self.aggregation is None and (self.where is not None or self.window != "period"):
            raise ValueError("`where` and `window` belong to aggregations (sum, count, …)")
        _check_decimals(self.format, self.decimals)
        return self


def _check_decimals(fmt: str | None, decimals: int | None) -> None:
    if fmt == "integer" and decimals not in (None, 0):
        raise ValueError("`format: integer` shows no decimals: leave out `decimals`")


# --------------------------------------------------------------------- rules


class Linear(Model):
    """Points grow linearly from 0 at `zero_at` to full marks at `full_at`, clamped."""

    zero_at: Number | str
    full_at: Number | str


class Band(Described):
    """One band of values: edges explicit (from ≥, above >, upto ≤, below <, equals =)."""

    equals: Number | None = None
    from_: Number | None = Field(default=None, alias="from")
    above: Number | None = None
    upto: Number | None = None
    below: Number | None = None
    points: Number | tuple[Number, Number]

    @model_validator(mode="after")
    def _edges(self) -> Band:
        if self.equals is not None and any(
            e is not None for e in (self.from_, self.above, self.upto, self.below)
        ):
            raise ValueError("`equals` cannot be combined with other edges")
        if self.from_ is not None and self.above is not None:
            raise ValueError("give the lower edge once: `from` (≥) or `above` (>)")
        if self.upto is not None and self.below is not None:
            raise ValueError("give the upper edge once: `upto` (≤) or `below` (<)")
        if isinstance(self.points, tuple) and (self.lower is None or self.upper is None):
            raise ValueError("a band with a points range needs both edges to interpolate inside it")
        lo, hi = self.lower, self.upper
        closed = self.lower_closed and self.upper_closed
        if lo is not None and hi is not None and (lo > hi or (lo == hi and not closed)):
            raise ValueError(f"the band is empty: lower edge {lo} is not below {hi}")
        return self

    @property
    def lower(self) -> Number | None:
        """Return the lower edge value, if any."""
        if self.equals is not None:
            return self.equals
        return self.from_ if self.from_ is not None else self.above

    @property
    def upper(self) -> Number | None:
        """Return the upper edge value, if any."""
        if self.equals is not None:
            return self.equals
        return self.upto if self.upto is not None else self.below

    @property
    def lower_closed(self) -> bool:
        """Return whether the lower edge belongs to the band."""
        return self.equals is not None or self.from_ is not None

    @property
    def upper_closed(self) -> bool:
        """Return whether the upper edge belongs to the band."""
        return self.equals is not None or self.upto is not None


class Bands(Model):
    """Ranges of a value → points (or a point range interpolated inside the band)."""

    better: Literal["higher", "lower"] = "higher"
    bands: Annotated[list[Band], Field(min_length=1)]
    else_: Number = Field(default=0, alias="else")

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        # `bands: [...]` is short for `bands: {bands: [...]}`
        return {"bands": data} if isinstance(data, list) else data


class DeductionItem(Described):
    """One deduction: per occurrence, per step of a shortfall or excess, an amount or bands."""

    per: str | None = None
    shortfall: str | None = None
    excess: str | None = None
    amount: str | None = None
    bands: Bands | None = None
    of: str | None = None  # the value bands apply to
    below: Number | str | None = None  # shortfall target
    above: Number | str | None = None  # excess limit
    step: Number = 1
    steps: Literal["started", "full"] = "started"
    points: Number | str | None = None
    cap: Number | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> DeductionItem:
        kinds = [k for k in ("per", "shortfall", "excess", "amount", "bands") if getattr(self, k)]
        if len(kinds) != 1:
            raise ValueError(
                "a deduction item needs exactly one of per, shortfall, excess, amount, bands"
            )
        kind = kinds[0]
        if kind in ("per", "shortfall", "excess") and self.points is None:
            raise ValueError(f"a `{kind}` deduction needs `points` (deducted per unit)")
        if kind == "shortfall" and self.below is None:
            raise ValueError("a `shortfall` deduction needs `below` (the target)")
        if kind == "excess" and self.above is None:
            raise ValueError("an `excess` deduction needs `above` (the limit)")
        if kind == "bands" and self.of is None:
            raise ValueError("a `bands` deduction needs `of` (the value the bands apply to)")
        if self.step <= 0:
            raise ValueError("`step` must be positive")
        return self

    @property
    def kind(self) -> str:
        """Return the kind of deduction."""
        return next(
            k for k in ("per", "shortfall", "excess", "amount", "bands") if getattr(self, k)
        )


class Deduction(Model):
    """Start at full marks, subtract per item; floor at 0 (or `floor`), optional total cap."""

    start: Number | None = None
    floor: Number = 0
    cap: Number | None = None
    items: Annotated[list[DeductionItem], Field(min_length=1)]


class Mapping(Model):
    """A category → points."""

    cases: dict[str, Number]
    else_: Number = Field(default=0, alias="else")


class ExprRule(Model):
    """Any expression giving points (clamped to 0…max)."""

    expr: str


class Rule(Model):
    """How an indicator turns its value into points; exactly one kind key."""

    linear: Linear | None = None
    bands: Bands | None = None
    deduction: Deduction | None = None
    mapping: Mapping | None = None
    manual: bool | None = None
    expr: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if data == "manual":
            return {"manual": True}
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        kinds = self.kinds
        if len(kinds) != 1:
            got = ", ".join(kinds) or "none"
            raise ValueError(
                f"a rule needs exactly one of linear, bands, deduction, mapping, manual, expr (got {got})"
            )
        return self

    @property
    def kinds(self) -> list[str]:
        """Return the kind keys that are set."""
        keys = ("linear", "bands", "deduction", "mapping", "manual", "expr")
        return [k for k in keys if getattr(self, k) not in (None, False)]

    @property
    def kind(self) -> str:
        """Return the one kind key that is set."""
        return self.kinds[0]


# ---------------------------------------------------------------------- tree

MissingPolicy = Literal["zero", "exclude", "fail"]


class WeightProfiles(Model):
    """Children's weights chosen per entity by an attribute (e.g. supplier category)."""

    by: str  # a metric name
    profiles: dict[str, dict[str, Number]]
    default: str | None = None  # the profile for values not listed


class Reason(Model):
    """What a person reads when this indicator lost points."""

    code: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    label: str | None = None


class Node(Described):
    """A group (with children) or an indicator (with a rule)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    weight: Number | None = None
    max: Number | None = None
    value: str | None = None
    rule: Rule | None = None
    children: list[Node] | None = None
    weighting: Literal["fractions", "ratios", "points"] | None = None
    weights_by: WeightProfiles | None = None
    missing: MissingPolicy | None = None
    pass_: Number | None = Field(default=None, alias="pass")
    pass_points: Number | None = None
    reason: Reason | None = None

    @model_validator(mode="after")
    def _shape(self) -> Node:
        if self.children is not None:
            if self.rule is not None or self.value is not None:
                raise ValueError("a group (with `children`) has no `rule` or `value` of its own")
            if not self.children:
                raise ValueError("`children` is empty")
        else:
            if self.rule is None:
                raise ValueError("an indicator needs a `rule` (or `children` to be a group)")
            if self.weighting is not None or self.weights_by is not None:
                raise ValueError("`weighting` and `weights_by` belong to groups")
        if self.pass_ is not None and self.pass_points is not None:
            raise ValueError("give the pass mark once: `pass` (fraction) or `pass_points`")
        if self.pass_ is not None and not 0 <= self.pass_ <= 1:
            raise ValueError("`pass` is a fraction of the node's maximum, between 0 and 1")
        if self.weight is not None and self.weight < 0:
            raise ValueError("`weight` cannot be negative")
        if self.max is not None and self.max <= 0:
            raise ValueError("`max` must be positive")
        return self

    @property
    def is_group(self) -> bool:
        """Return whether this node has children."""
        return self.children is not None

    def walk(self):
        """Yield this node and every node below it, depth first."""
        yield self
        for child in self.children or ():
            yield from child.walk()


# -------------------------------------------------------------------- grades


class Level(Described):
    """One grade: its code, Chinese label, colour and (for score bands) its lower edge:
    `min` (value ≥ min) or `above` (value > above, e.g. Altman's "Z > 2.99 safe")."""

    grade: str
    color: Annotated[str, AfterValidator(check_color)] | None = None
    min: Number | None = None
    above: Number | None = None
    below: Number | None = None
    benefits: list[str] | None = None

    @model_validator(mode="after")
    def _one_lower_edge(self) -> Level:
        if self.min is not None and self.above is not None:
            raise ValueError("give the lower edge once: `min` (≥) or `above` (>)")
        return self

    @property
    def lower(self) -> Number | None:
        """Return the lower edge (`min` or `above`), if any."""
        return self.min if self.min is not None else self.above


class GradeRule(Described):
    """A grade given when a condition holds (first rule that holds wins)."""

    grade: str | None
    when: str


class Cap(Described):
    """A single-indicator cap: when the condition holds, the grade is at most `at_most`."""

    when: str
    at_most: str


class Demotion(Described):
    """When the condition holds, the grade moves `steps` levels down (never below the last)."""

    when: str
    steps: Annotated[int, Field(ge=1)] = 1


class Grades(Described):
    """How the result becomes a grade."""

    on: str = "score"
    levels: Annotated[list[Level], Field(min_length=1)]
    rules: list[GradeRule] | None = None
    else_: str | None = Field(default=None, alias="else")
    caps: list[Cap] = []
    demotions: list[Demotion] = []
    overrides: bool = True


# ------------------------------------------------- classes, consequences, outputs


class ClassRule(Described):
    """A class label that holds when its condition holds."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    when: str


class Fallback(Described):
    """The class given when no class rule holds."""

    id: str


class Classes(Described):
    """Class rules; `class` is the first that holds by precedence, else the fallback."""

    rules: Annotated[list[ClassRule], Field(min_length=1)]
    precedence: list[str] | None = None
    fallback: Fallback | None = None


class StatusRule(Described):
    """A status; the first status rule that holds wins."""

    status: str
    when: str


class ActionRule(Described):
    """An action; every action rule that holds applies."""

    action: str
    when: str


class Consequences(Described):
    """Statuses and actions that follow from the result."""

    statuses: list[StatusRule] = []
    actions: list[ActionRule] = []
    default_status: str | None = None


class Output(Described):
    """An extra output computed from the result (credit line, payment terms, bonus …)."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    expr: str
    type: Literal["number", "money", "integer", "string"] = "number"
    round: int | None = None
    format: NumberFormat | None = None  # how the value is shown; default follows `type`
    decimals: Decimals | None = None  # digits after the point when shown

    @model_validator(mode="after")
    def _display(self) -> Output:
        if self.type == "string" and (self.format is not None or self.decimals is not None):
            raise ValueError("`format` and `decimals` belong to numeric outputs, not `string`")
        _check_decimals(self.format, self.decimals)
        return self


class Check(Described):
    """A run-level quality check: the share of entities for which a condition holds."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    share_of: str
    among: str = "true"
    at_least: Number


# -------------------------------------------------------------------- scheme


class TableColumn(Described):
    """One column of a table a scheme declares: its type, and the values it may hold."""

    type: Literal["string", "money", "number", "integer", "date", "bool"]
    choices: Annotated[list[str], Field(min_length=1)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _type_shorthand(cls, data: Any) -> Any:
        # `minutes: number` is short for `minutes: {type: number}`
        return {"type": data} if isinstance(data, str) else data


class Table(Described):
    """A table of the scheme's own (a fact or an entity table), shaped like the contract's."""

    kind: Literal["fact", "entity"]
    entity: str | None = None  # for a fact: the entity table its key refers to
    key: str
    date: str | None = None  # the column windows apply to
    columns: Annotated[dict[str, TableColumn], Field(min_length=1)]


class Entity(Model):
    """The table whose rows are evaluated."""

    table: Literal["customers", "suppliers", "staff", "dealers"]


class Evidence(Described):
    """Minimum evidence: an entity for which `when` does not hold is not rated — no score,
    no grade, status `not_rated` — rather than graded on defaults (e.g. `orders >= 3`)."""

    when: str


class Display(Model):
    """How the scheme's scores and points are shown: one precision on every page and export."""

    decimals: Annotated[int, Field(ge=0, le=4)] = 1


class Scheme(Described):
    """A whole evaluation scheme."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")]
    version: str | int = 1
    entity: str  # an entity table: the contract's or one in `tables`
    period: Literal["year", "quarter", "month"]
    tables: dict[str, Table] = {}
    params: dict[str, Param] = {}
    extra_columns: dict[str, list[str]] = {}
    metrics: dict[str, Metric] = {}
    tree: Node | None = None
    evidence: Evidence | None = None
    grades: Grades | None = None
    classes: Classes | None = None
    consequences: Consequences | None = None
    outputs: list[Output] = []
    checks: list[Check] = []
    notes: list[str] = []
    display: Display = Display()

    @model_validator(mode="before")
    @classmethod
    def _param_shorthand(cls, data: Any) -> Any:
        # `params: {limit: 0.01}` is short for `params: {limit: {default: 0.01}}`
        if isinstance(data, dict) and isinstance(data.get("params"), dict):
            data = dict(data)
            data["params"] = {
                k: v if isinstance(v, dict) else {"default": v} for k, v in data["params"].items()
            }
        return data
