"""A test case for the ratings pages: the sample data of "customer-composite" imported once
per test class, the scheme published, and its manual indicator `manager_rating` (scale
0–100) assigned to sales for every customer and to quality for two customers only."""

from __future__ import annotations

from decimal import Decimal

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
