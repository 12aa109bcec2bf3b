"""Rating reminders by e-mail "where configured": the PINGJI_EMAIL_* settings, the e-mail a
rater receives (checked whole, in Chinese and in English), and no e-mail at all without an
SMTP host or without the user's address — the reminder on the home page stays either way."""

import os
import runpy
import smtplib
from datetime import timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, override_settings
from django.utils import timezone

from pingji.web import settings as web_settings
from pingji.web.ratings.models import Assignment
from pingji.web.ratings.reminders import due_reminders, email_configured, reminder_text
from pingji.web.ratings.testing import SheetTestCase

SMTP = "smtp.example.com"
LINK = "https://pj.example.com/ratings/sheet/?scheme=customer-composite&period=2025"


def settings_with(**env: str) -> dict:
    """Run settings.py afresh with these PINGJI_EMAIL_* variables; return its names."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PINGJI_EMAIL_")}
    clean["PINGJI_SECRET_KEY"] = "test-only"
    with mock.patch.dict(os.environ, {**clean, **env}, clear=True):
        return runpy.run_path(str(Path(web_settings.__file__)))


class EmailSettingsTest(SimpleTestCase):
    def test_it_configures_no_email_without_a_host(self):
        s = settings_with()
        self.assertEqual(s["EMAIL_HOST"], "")
        self.assertEqual(s["EMAIL_BACKEND"], "django.core.mail.backends.dummy.EmailBackend")
        with override_settings(EMAIL_HOST=s["EMAIL_HOST"]):
            self.assertFalse(email_configured())

    def test_it_uses_smtp_with_the_given_host_login_and_sender(self):
        s = settings_with(
            PINGJI_EMAIL_HOST=SMTP,
            PINGJI_EMAIL_USER="pingji",
            PINGJI_EMAIL_PASSWORD="s3cret",
            PINGJI_EMAIL_TLS="yes",
            PINGJI_EMAIL_FROM="评级系统 <pingji@example.com>",
        )
        got = [
            s[k]
            for k in (
                "EMAIL_BACKEND",
                "EMAIL_HOST",
                "EMAIL_PORT",
                "EMAIL_USE_TLS",
                "EMAIL_HOST_USER",
                "EMAIL_HOST_PASSWORD",
                "DEFAULT_FROM_EMAIL",
            )
        ]
        self.assertEqual(
            got,
            [
                "django.core.mail.backends.smtp.EmailBackend",
                SMTP,
                587,  # STARTTLS's submission port
                True,
                "pingji",
                "s3cret",
                "评级系统 <pingji@example.com>",
            ],
        )
        with override_settings(EMAIL_HOST=s["EMAIL_HOST"]):
            self.assertTrue(email_configured())

    def test_it_defaults_to_port_25_without_tls_and_sends_as_the_login_address(self):
        s = settings_with(PINGJI_EMAIL_HOST=SMTP, PINGJI_EMAIL_USER="pj@example.com")
        self.assertEqual(
            (s["EMAIL_PORT"], s["EMAIL_USE_TLS"], s["DEFAULT_FROM_EMAIL"]),
            (25, False, "pj@example.com"),
        )
        s = settings_with(
            PINGJI_EMAIL_HOST=SMTP, PINGJI_EMAIL_PORT="2525", PINGJI_EMAIL_FROM="a@b.c"
        )
        self.assertEqual((s["EMAIL_PORT"], s["EMAIL_HOST_USER"]), (2525, ""))

    def test_a_bad_value_is_an_error_naming_the_variable(self):
        sender = {"PINGJI_EMAIL_FROM": "pingji@example.com"}
        cases = [
            ({**sender, "PINGJI_EMAIL_TLS": "maybe"}, "PINGJI_EMAIL_TLS='maybe'"),
            ({**sender, "PINGJI_EMAIL_PORT": "smtp"}, "PINGJI_EMAIL_PORT='smtp': expected"),
            ({**sender, "PINGJI_EMAIL_PORT": "70000"}, "PINGJI_EMAIL_PORT=70000: expected 1"),
            ({"PINGJI_EMAIL_FROM": "pingji"}, "PINGJI_EMAIL_FROM: expected the sender's address"),
            # no sender given, and the login is not an address to send as
            ({"PINGJI_EMAIL_USER": "pingji"}, "PINGJI_EMAIL_FROM: expected the sender's address"),
        ]
        for env, message in cases:
            with self.subTest(env), self.assertRaises(ImproperlyConfigured) as caught:
                settings_with(PINGJI_EMAIL_HOST=SMTP, **env)
            self.assertIn(message, str(caught.exception))


class RefusingBackend(BaseEmailBackend):
    """An SMTP server that refuses one address (the others are delivered to mail.outbox)."""

    def send_messages(self, messages):
        for m in messages:
            if m.to == ["gone@example.com"]:
                raise smtplib.SMTPRecipientsRefused({"gone@example.com": (550, b"no such user")})
            mail.outbox.append(m)
        return len(messages)


@override_settings(EMAIL_HOST=SMTP, DEFAULT_FROM_EMAIL="pingji@example.com")
class ReminderEmailTest(SheetTestCase):
    def setUp(self):
        super().setUp()
        self.rater.email = "rater@example.com"
        self.rater.first_name = "晓明"
        self.rater.last_name = "王"
        self.rater.save()

    def remind(self, *args: str) -> str:
        out = StringIO()
        call_command(
            "send_rating_reminders", "--days", "5", "--base-url", "https://pj.example.com/",
            *args, stdout=out,
        )  # fmt: skip
        return out.getvalue()

    def test_it_emails_the_rater_in_chinese_with_the_count_deadline_and_link(self):
        d = self.deadline.isoformat()
        out = self.remind()
        self.assertIn(f"rater: 80 cell(s) to rate, deadline {d} — e-mailed", out)
        self.assertIn("1 rater(s) to remind, 1 e-mail(s) sent.", out)
        [sent] = mail.outbox
        self.assertEqual((sent.to, sent.from_email), (["rater@example.com"], "pingji@example.com"))
        # 40 customers × 2 indicators assigned to sales, none submitted
        self.assertEqual(sent.subject, f"【评级】80 项待评分，截止 {d}")
        self.assertEqual(
            sent.body,
            "晓明 王，您好：\n"
            "\n"
            f"客户综合评价，期间 2025：80 项待评分（已提交 0 / 80），截止 {d}\n"
            f"  {LINK}\n"
            "\n"
            "此邮件由评级系统自动发送。",
        )

    def test_it_counts_submitted_cells_and_says_when_the_deadline_has_passed(self):
        Assignment.objects.filter(pk=self.service_assignment.pk).update(
            deadline=timezone.localdate() - timedelta(days=1)
        )
        for entity_id in ("C000001", "C000002", "C000003"):
            self.rate(self.rater, 70, status="submitted", entity_id=entity_id)
        [reminder] = due_reminders(days=0)
        subject, body = reminder_text(reminder)
        past = (timezone.localdate() - timedelta(days=1)).isoformat()
        self.assertEqual(subject, f"【评级】77 项待评分，截止 {past}")
        self.assertIn(
            f"客户综合评价，期间 2025：77 项待评分（已提交 3 / 80），截止 {past}（已逾期）\n", body
        )

    @override_settings(LANGUAGE_CODE="en")
    def test_the_english_catalog_translates_the_email(self):
        [reminder] = due_reminders(days=5)
        subject, body = reminder_text(reminder, "https://pj.example.com")
        d = self.deadline.isoformat()
        self.assertEqual(subject, f"[pingji] 80 ratings to do, deadline {d}")
        self.assertTrue(body.startswith("Hello 晓明 王,\n\n"), body)
        self.assertTrue(body.endswith("This message was sent by pingji automatically."), body)
        self.assertNotRegex(
            body.replace("晓明 王", "").replace("客户综合评价", ""), r"[\u4e00-\u9fff]"
        )

    def test_a_user_without_an_address_is_reminded_in_the_app_only(self):
        self.rater.email = ""
        self.rater.save()
        out = self.remind()
        self.assertIn("— no e-mail address", out)
        self.assertIn("1 rater(s) to remind, 0 e-mail(s) sent.", out)
        self.assertEqual(mail.outbox, [])
        self.login(self.rater)
        page = self.client.get("/").content.decode()
        self.assertIn("80 项待评分", page)
        self.assertIn(f"截止 {self.deadline.isoformat()}", page)

    def test_nothing_is_sent_without_an_smtp_host(self):
        with override_settings(EMAIL_HOST=""):
            out = self.remind()
        self.assertIn("E-mail is not configured (PINGJI_EMAIL_HOST): nothing sent.", out)
        self.assertIn("— not sent", out)
        self.assertEqual(mail.outbox, [])

    @override_settings(EMAIL_BACKEND=f"{__name__}.RefusingBackend")
    def test_a_refused_address_is_reported_and_the_others_still_get_theirs(self):
        colleague = self.make_user("rater2", "rater", self.sales)
        colleague.email = "rater2@example.com"
        colleague.save()
        self.rater.email = "gone@example.com"
        self.rater.save()
        out = StringIO()
        with self.assertRaisesMessage(CommandError, "1 e-mail(s) could not be sent"):
            call_command("send_rating_reminders", "--days", "5", stdout=out)
        self.assertIn("rater: 80 cell(s) to rate", out.getvalue())
        self.assertIn(
            "— e-mail failed: {'gone@example.com': (550, b'no such user')}", out.getvalue()
        )
        self.assertIn("rater2: 80 cell(s) to rate", out.getvalue())
        self.assertEqual([m.to for m in mail.outbox], [["rater2@example.com"]])

    def test_a_malformed_address_is_reported_not_sent_to(self):
        # a header injection attempt through the stored address (forms validate it; a
        # management command or the admin might not)
        self.rater.email = "rater@example.com\nBcc: spy@example.com"
        self.rater.save()
        out = StringIO()
        with self.assertRaisesMessage(CommandError, "1 e-mail(s) could not be sent"):
            call_command("send_rating_reminders", "--days", "5", stdout=out)
        self.assertIn("rater: 80 cell(s) to rate", out.getvalue())
        self.assertIn("— e-mail failed: ", out.getvalue())
        self.assertEqual(mail.outbox, [])
