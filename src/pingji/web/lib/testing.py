"""A base test case for the web apps: named users in each role, a private workspace, and
helpers to import the sample data of a built-in scheme.

    admin     — role admin
    analyst   — role analyst
    rater     — role rater, department sales (销售部)
    rater_q   — role rater, department quality (质量部)
    viewer    — role viewer
    nobody    — logged-in user with no role
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import TestCase, override_settings

from pingji.web.lib.access import ensure_roles

PASSWORD = "pingji-test-pass"


class WebTestCase(TestCase):
    """Django TestCase with named users and a fresh PINGJI_HOME per test class."""

    @classmethod
    def setUpClass(cls) -> None:
        cls._home = Path(tempfile.mkdtemp(prefix="pingji-web-test-"))
        cls._home_override = override_settings(
            PINGJI_HOME=cls._home,
            TASKS={"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}},
        )
        cls._home_override.enable()
        super().setUpClass()

    def _pre_setup(self) -> None:
        from pingji.web.jobs import lease

        lease.forget()  # each test's workers are its own: no look kept from another test
        super()._pre_setup()

    @classmethod
    def tearDownClass(cls) -> None:
        super().tearDownClass()
        cls._home_override.disable()
        shutil.rmtree(cls._home, ignore_errors=True)

    @classmethod
    def setUpTestData(cls) -> None:
        from pingji.web.accounts.models import Department

        ensure_roles()
        cls.sales = Department.objects.create(code="sales", name="销售部")
        cls.quality = Department.objects.create(code="quality", name="质量部")
        cls.admin = cls.make_user("admin", "admin")
        cls.analyst = cls.make_user("analyst", "analyst")
        cls.rater = cls.make_user("rater", "rater", cls.sales)
        cls.rater_q = cls.make_user("rater_q", "rater", cls.quality)
        cls.viewer = cls.make_user("viewer", "viewer")
        cls.nobody = cls.make_user("nobody", None)

    @classmethod
    def make_user(cls, username: str, role: str | None, department=None):
        user = get_user_model().objects.create_user(username, f"{username}@example.com", PASSWORD)
        if role:
            user.groups.add(Group.objects.get(name=role))
        if department is not None:
            user.profile.department = department
            user.profile.save()
        return user

    def login(self, user) -> None:
        self.client.force_login(user)

    @property
    def home(self) -> Path:
        return self._home

    def import_sample(self, scheme: str = "customer-composite", entities: int = 60, user=None):
        """Generate a built-in's sample data and import every file as a batch; return them."""
        from pingji.templates.sample import generate
        from pingji.web.imports.services import commit_batch

        folder = self.home / f"sample-{scheme}"
        if not folder.exists():
            generate(scheme, folder, entities=entities, seed=7)
        return [
            commit_batch(path, path.stem, user or self.analyst)
            for path in sorted(folder.iterdir())
            if path.suffix in (".csv", ".xlsx", ".parquet")
        ]
