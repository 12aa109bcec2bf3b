"""The manual indicators of a scheme: its `rating:` metrics, their scales, and the tree
nodes whose points depend on them — with the rules in words, for the rating form.

A scheme is read from its latest published version; schemes.services.resolve_version
remembers resolved schemes by their text."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from pingji import expr
from pingji.output import numbers
from pingji.periods import Period
from pingji.scheme.describe import describe_metric, describe_rule
from pingji.scheme.resolve import ResolvedScheme
from pingji.web.schemes.models import Scheme, SchemeVersion
from pingji.web.schemes.services import resolve_version


def number_text(x) -> str:
    """Return a number as people write it: 12, 12.5, 0.25 (no trailing zeros, no exponent;
    ungrouped, as a rater types it)."""
    return numbers.exact(x, grouped=False)


@dataclass(frozen=True)
class UsedBy:
    """A tree indicator whose points depend on a manual rating."""

    id: str
    label: str
    rule: str  # the rule in words
    max: float
    direct: bool  # `rule: manual` on the rating itself (points = share of the scale × max)


@dataclass(frozen=True)
class ManualIndicator:
    """A `rating:` metric: what raters score, on which scale, and where it counts."""

    code: str  # the rating's indicator code (Rating.indicator, ratings.indicator)
    metric: str
    label: str
    description: str
    measured: str  # the metric in words
    lo: Decimal
    hi: Decimal
    used_by: tuple[UsedBy, ...]

    @property
    def scale_text(self) -> str:
        return f"{number_text(self.lo)}–{number_text(self.hi)}"

    def contains(self, score: Decimal) -> bool:
        return self.lo <= score <= self.hi


def _metric_closure(rs: ResolvedScheme) -> dict[str, set[str]]:
    """Return, for every metric, the rating metrics it depends on (itself included)."""
    metrics = rs.scheme.metrics
    direct: dict[str, set[str]] = {}
    for name in metrics:
        tree = rs.exprs.get(("metrics", name, "expr"))
        direct[name] = (expr.nodes.names(tree) & set(metrics)) if tree is not None else set()
    closure: dict[str, set[str]] = {}

    def ratings_of(name: str, seen: frozenset[str]) -> set[str]:
        if name in closure:
            return closure[name]
        found = {name} if metrics[name].rating is not None else set()
        for dep in direct[name] - seen:
            found |= ratings_of(dep, seen | {name})
        closure[name] = found
        return found

    for name in metrics:
        ratings_of(name, frozenset())
    return closure


def manual_indicators(rs: ResolvedScheme) -> dict[str, ManualIndicator]:
    """Return the scheme's manual indicators by rating code, in the order of the metrics."""
    metrics = rs.scheme.metrics
    rated = {n: m for n, m in metrics.items() if m.rating is not None}
    if not rated:
        return {}
    closure = _metric_closure(rs)
    users: dict[str, list[UsedBy]] = {n: [] for n in rated}
    for rn in rs.leaves():
        names: set[str] = set()
        for path, tree in rs.exprs.items():
            if tree is not None and path[: len(rn.path)] == rn.path:
                names |= expr.nodes.names(tree)
        used = set()
        for name in names & set(metrics):
            used |= closure[name]
        direct_metric = rs.exprs.get((*rn.path, "$value"))
        direct_name = (
            direct_metric.name
            if rn.node.rule.kind == "manual" and isinstance(direct_metric, expr.nodes.Name)
            else None
        )
        for name in sorted(used, key=list(metrics).index):
            users[name].append(
                UsedBy(
                    id=rn.id,
                    label=rn.node.label or rn.id,
                    rule=describe_rule(rn),
                    max=rn.max,
                    direct=name == direct_name,
                )
            )
    out: dict[str, ManualIndicator] = {}
    for name, m in rated.items():
        if m.rating in out:  # two metrics read the same rating: one indicator to rate
            first = out[m.rating]
            out[m.rating] = ManualIndicator(
                **{**first.__dict__, "used_by": first.used_by + tuple(users[name])}
            )
            continue
        out[m.rating] = ManualIndicator(
            code=m.rating,
            metric=name,
            label=m.label or name,
            description=m.description or "",
            measured=describe_metric(m),
            lo=Decimal(str(m.scale[0])),
            hi=Decimal(str(m.scale[1])),
            used_by=tuple(users[name]),
        )
    return out


@dataclass(frozen=True)
class RatedScheme:
    """A scheme with a published version that has manual indicators."""

    scheme: Scheme
    version: SchemeVersion
    rs: ResolvedScheme
    indicators: dict[str, ManualIndicator]

    @property
    def kind(self) -> str:
        return self.rs.scheme.period

    @property
    def entity_label(self) -> str:
        """Return the Chinese name of what the scheme rates (its own table's label too)."""
        spec = self.rs.tables.get(self.rs.scheme.entity)
        return (spec.label if spec else "") or self.rs.scheme.entity

    def parse_period(self, text: str) -> str:
        """Return the period's canonical text; raises pingji.errors.BadInput if wrong."""
        return str(Period.parse(text, self.kind))


def rated_scheme(scheme: Scheme) -> RatedScheme | None:
    """Return the scheme's latest published version and its manual indicators, or None."""
    version = scheme.latest_published()
    if version is None:
        return None
    version.scheme = scheme
    rs = resolve_version(version)
    indicators = manual_indicators(rs)
    if not indicators:
        return None
    return RatedScheme(scheme, version, rs, indicators)


def rated_schemes() -> list[RatedScheme]:
    """Return every scheme whose latest published version has manual indicators."""
    latest: dict[int, SchemeVersion] = {}
    versions = (
        SchemeVersion.objects.filter(status=SchemeVersion.Status.PUBLISHED)
        .select_related("scheme")
        .order_by("scheme__code", "-number")
    )
    for v in versions:  # one row per published version, a handful per scheme
        latest.setdefault(v.scheme_id, v)
    out = []
    for v in latest.values():
        rs = resolve_version(v)
        indicators = manual_indicators(rs)
        if indicators:
            out.append(RatedScheme(v.scheme, v, rs, indicators))
    return out


def current_period(kind: str) -> str:
    """Return the period of `kind` (year, quarter, month) that contains today."""
    today = timezone.localdate()
    if kind == "year":
        return f"{today.year}"
    if kind == "quarter":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return f"{today.year}-{today.month:02d}"


def recent_periods(kind: str, extra=()) -> list[str]:
    """Return the current period and earlier ones (newest first), plus `extra` periods."""
    current = Period.parse(current_period(kind), kind)  # type: ignore[arg-type]
    count = {"year": 5, "quarter": 8, "month": 12}[kind]
    periods = {current.shift(-i) for i in range(count)}
    for text in extra:
        try:
            periods.add(Period.parse(text, kind))  # type: ignore[arg-type]
        except ValueError:
            continue
    return [str(p) for p in sorted(periods, reverse=True)]
