"""`python -m pingji.web.manage send_rating_reminders [--days 3] [--base-url URL] [--dry-run]`

Remind every rater who still has cells to submit for an assignment whose deadline is within
--days days (or past): by e-mail when PINGJI_EMAIL_HOST names an SMTP server and the user has
an address; the same reminder is always on the rater's home page. An e-mail the server refuses
is reported and the others are still sent; the command then exits non-zero. Meant for a daily
cron job:

    0 8 * * *  cd /srv/pingji && PINGJI_HOME=… .venv/bin/pingji manage send_rating_reminders
"""

from __future__ import annotations

import smtplib

from django.core.management.base import BaseCommand, CommandError

from pingji.web.ratings.reminders import due_reminders, email_configured, send


class Command(BaseCommand):
    help = "E-mail raters whose rating deadline is near or past and who have cells to submit."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--days", type=int, default=3, help="remind this many days before the deadline"
        )
        parser.add_argument(
            "--base-url",
            default="",
            help="the app's address for links, e.g. https://pingji.example.com",
        )
        parser.add_argument("--dry-run", action="store_true", help="list, send nothing")

    def handle(self, *args, days: int, base_url: str, dry_run: bool, **options) -> None:
        if days < 0:
            raise CommandError("--days must be 0 or more")
        reminders = due_reminders(days)
        mail = email_configured() and not dry_run
        if not email_configured():
            self.stdout.write("E-mail is not configured (PINGJI_EMAIL_HOST): nothing sent.")
        sent = failed = 0
        for r in reminders:
            how = "not sent"
            if mail:
                try:
                    how = "e-mailed" if send(r, base_url) else "no e-mail address"
                except (smtplib.SMTPException, OSError, ValueError) as exc:
                    # one refused (or malformed: ValueError) address or a server hiccup must
                    # not cost the others their reminders
                    failed += 1
                    how = f"e-mail failed: {exc}"
            sent += how == "e-mailed"
            self.stdout.write(
                f"{r.user.get_username()}: {r.pending} cell(s) to rate, "
                f"deadline {r.deadline.isoformat()} — {how}"
            )
        self.stdout.write(f"{len(reminders)} rater(s) to remind, {sent} e-mail(s) sent.")
        if failed:
            raise CommandError(f"{failed} e-mail(s) could not be sent (see above)")
