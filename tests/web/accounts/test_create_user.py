"""`create_user NAME --role R --password P [--department D]`: creates, or updates an
existing user to match; used by the demo and the browser tests."""

from io import StringIO

from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from pingji.web.accounts.models import Department
from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import WebTestCase

User = get_user_model()


def run(*args) -> str:
    out = StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


class CreateUserCommandTest(WebTestCase):
    def test_it_creates_a_user_with_a_role(self):
        self.assertIn(
            "created user demo", run("demo", "--role", "analyst", "--password", "demo-pass-1")
        )
        user = User.objects.get(username="demo")
        self.assertEqual(list(user.groups.values_list("name", flat=True)), ["analyst"])
        self.assertTrue(user.check_password("demo-pass-1"))
        self.assertTrue(user.has_perm("runs.add_run"))
        event = AuditEvent.objects.get(action="user.create", object_id=str(user.pk))
        self.assertEqual(event.username, "system")

    def test_it_is_idempotent_and_updates_role_department_and_password(self):
        run("demo", "--role", "viewer", "--password", "demo-pass-1")
        run("demo", "--role", "viewer", "--password", "demo-pass-1")
        self.assertEqual(User.objects.filter(username="demo").count(), 1)
        demo = User.objects.get(username="demo")
        events = AuditEvent.objects.filter(object_type="auth.user", object_id=str(demo.pk))
        self.assertEqual([e.action for e in events], ["user.create"])  # the rerun changed nothing
        self.assertIn(
            "updated user demo",
            run(
                "demo",
                "--role",
                "rater",
                "--password",
                "demo-pass-2",
                "--department",
                "quality",
                "--name",
                "李静",
            ),
        )
        user = User.objects.get(username="demo")
        self.assertEqual(list(user.groups.values_list("name", flat=True)), ["rater"])
        self.assertEqual(user.profile.department, self.quality)
        self.assertEqual(user.first_name, "李静")
        self.assertTrue(user.check_password("demo-pass-2"))
        actions = sorted(
            e.action
            for e in AuditEvent.objects.filter(object_id=str(user.pk), object_type="auth.user")
        )
        self.assertEqual(actions, ["user.change", "user.create", "user.password"])

    def test_it_creates_a_missing_department_with_its_usual_name(self):
        run("buyer", "--role", "rater", "--password", "demo-pass-1", "--department", "purchasing")
        self.assertEqual(Department.objects.get(code="purchasing").name, "采购部")

    def test_it_refuses_a_rater_without_department_and_an_unknown_role(self):
        with self.assertRaisesMessage(CommandError, "--department"):
            run("r", "--role", "rater", "--password", "demo-pass-1")
        with self.assertRaises(CommandError):
            run("r", "--role", "boss", "--password", "demo-pass-1")
        self.assertFalse(User.objects.filter(username="r").exists())
