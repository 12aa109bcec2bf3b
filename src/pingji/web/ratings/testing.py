"""Test cases for the ratings pages: the sample data of "customer-composite" imported once
per test class, the scheme published, and its manual indicator `manager_rating` (scale
0–100) assigned to sales for every customer and to quality for two customers only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from pingji.templates import builtin_text
from pingji.templates.sample import generate
from pingji.web.imports.services import commit_batch
from pingji.web.lib.testing import WebTestCase
from pingji.web.ratings.models import Assignment, Rating
from pingji.web.schemes.services import add_version, publish

SCHEME = "customer-composite"
INDICATOR = "manager_rating"
QUALITY_ENTITIES = ["C000001", "C000002"]


class RatingsTestCase(WebTestCase):
    """WebTestCase + 40 sample customers, customer-composite published, assignments."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        folder = cls._home / f"sample-{SCHEME}"
        if not folder.exists():
            generate(SCHEME, folder, entities=40, seed=7)
        cls.batches = [
            commit_batch(path, path.stem, cls.analyst)
            for path in sorted(folder.iterdir())
            if path.suffix == ".csv"
        ]
        cls.version = publish(add_version(builtin_text(SCHEME), cls.analyst), cls.analyst)
        cls.scheme = cls.version.scheme
        cls.sales_assignment = Assignment.objects.create(
            scheme=cls.scheme, indicator=INDICATOR, department=cls.sales
        )
        cls.quality_assignment = Assignment.objects.create(
            scheme=cls.scheme,
            indicator=INDICATOR,
            department=cls.quality,
            entity_ids=QUALITY_ENTITIES,
        )

    def cell_url(self, entity_id: str = "C000001", period: str = "2025", indicator=INDICATOR):
        return f"/ratings/{SCHEME}/{period}/{entity_id}/{indicator}/"

    def rating(self, rater, score, status="draft", entity_id="C000001", period="2025"):
        """Store a rating directly (the state a test starts from)."""
        from pingji.web.lib.access import department_of

        return Rating.objects.create(
            scheme=self.scheme,
            indicator=INDICATOR,
            entity_id=entity_id,
            period=period,
            score=Decimal(str(score)),
            status=status,
            rater=rater,
            department=department_of(rater),
        )


SERVICE = "service_rating"
SHEET = f"/ratings/sheet/?scheme={SCHEME}&period=2025"


def with_service_rating(text: str) -> str:
    """The scheme's YAML with a second manual indicator, service_rating on a 1–5 scale."""
    extra = text.replace(
        "    scale: [0, 100]\n",
        "    scale: [0, 100]\n"
        "  service_rating:\n"
        "    label: 服务评分\n"
        "    rating: service_rating\n"
        "    scale: [1, 5]\n",
        1,
    )
    assert extra != text
    return extra


class SheetTestCase(RatingsTestCase):
    """RatingsTestCase + a second manual indicator `service_rating` (1–5) published as v2,
    assigned to sales only, rated blind, deadline in five days; sales rates period 2025."""

    @classmethod
    def setUpTestData(cls) -> None:
        super().setUpTestData()
        cls.version = publish(
            add_version(with_service_rating(builtin_text(SCHEME)), cls.analyst), cls.analyst
        )
        cls.deadline = timezone.localdate() + timedelta(days=5)
        Assignment.objects.filter(pk=cls.sales_assignment.pk).update(period="2025")
        cls.service_assignment = Assignment.objects.create(
            scheme=cls.scheme,
            indicator=SERVICE,
            department=cls.sales,
            period="2025",
            deadline=cls.deadline,
            blind=True,
        )

    def rate(self, rater, score, status="draft", entity_id="C000001", indicator=INDICATOR):
        """Store a rating of 2025 directly (the state a test starts from)."""
        from pingji.web.lib.access import department_of

        now = timezone.now()
        return Rating.objects.create(
            scheme=self.scheme,
            indicator=indicator,
            entity_id=entity_id,
            period="2025",
            score=Decimal(str(score)),
            status=status,
            rater=rater,
            department=department_of(rater),
            submitted_at=None if status == "draft" else now,
        )
