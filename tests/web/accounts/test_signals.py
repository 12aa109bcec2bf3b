"""Changes made outside these pages (Django's admin site, the shell) are audited too, with
before and after; logging in is not a change."""

from django.contrib.auth.models import Group

from pingji.web.audit.models import AuditEvent
from pingji.web.lib.testing import PASSWORD, WebTestCase


class UserSignalsTest(WebTestCase):
    def test_it_records_a_field_change_with_before_and_after(self):
        self.viewer.email = "new@example.com"
        self.viewer.save()
        event = AuditEvent.objects.filter(action="user.change").latest("id")
        self.assertEqual(event.before["email"], "viewer@example.com")
        self.assertEqual(event.after["email"], "new@example.com")
        self.assertEqual(event.before["is_active"], event.after["is_active"])

    def test_it_records_a_password_change_without_the_hash(self):
        self.viewer.set_password("another-pass-9")
        self.viewer.save()
        event = AuditEvent.objects.filter(action="user.password").latest("id")
        self.assertNotEqual(event.before["password"], event.after["password"])
        self.assertNotIn("md5", str(event.after) + str(event.before))

    def test_it_records_nothing_for_a_save_without_changes_or_a_login(self):
        count = AuditEvent.objects.count()
        self.viewer.save()
        self.assertTrue(self.client.login(username="viewer", password=PASSWORD))
        self.assertEqual(AuditEvent.objects.count(), count)

    def test_it_records_role_changes_with_before_and_after(self):
        self.viewer.groups.add(Group.objects.get(name="analyst"))
        event = AuditEvent.objects.filter(action="user.roles").latest("id")
        self.assertEqual(event.before, {"roles": ["viewer"]})
        self.assertEqual(event.after, {"roles": ["analyst", "viewer"]})
