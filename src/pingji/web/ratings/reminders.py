"""Rating reminders: who still has cells to submit for an assignment whose deadline is near
or past, and the e-mail that tells them (sent by `send_rating_reminders`, which a cron job
calls once a day). In the app the same reminder is on the rater's home page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from pingji.web.ratings.indicators import rated_schemes
from pingji.web.ratings.models import Assignment
from pingji.web.ratings.sheet import Waiting, waiting_for


def email_configured() -> bool:
    """Return whether an SMTP server is configured (PINGJI_EMAIL_HOST, settings.py); without
    one no e-mail is attempted and the reminder stays in the app."""
    return bool(settings.EMAIL_HOST)


@dataclass(frozen=True)
class Reminder:
    """One rater's open work whose deadline is within the reminder window."""

    user: object
    waiting: list[Waiting]

    @property
    def pending(self) -> int:
        return sum(w.progress.pending for w in self.waiting)

    @property
    def deadline(self) -> date:
        return min(w.deadline for w in self.waiting if w.deadline is not None)


def due_reminders(days: int, today: date | None = None) -> list[Reminder]:
    """Return a reminder for every active rater with cells still to submit in an assignment
    of their department whose deadline is at most `days` days away (or already past)."""
    today = today or timezone.localdate()
    until = today + timedelta(days=days)
    departments = set(
        Assignment.objects.filter(deadline__isnull=False, deadline__lte=until).values_list(
            "department_id", flat=True
        )
    )
    if not departments:
        return []
    schemes = rated_schemes()
    people = (
        get_user_model()
        .objects.filter(is_active=True, profile__department_id__in=departments)
        .order_by("username")
    )
    out = []
    for user in people:
        due = [
            w
            for w in waiting_for(user, schemes)
            if w.progress.pending and w.deadline is not None and w.deadline <= until
        ]
        if due:
            out.append(Reminder(user, due))
    return out


def reminder_text(reminder: Reminder, base_url: str = "") -> tuple[str, str]:
    """Return the subject and body of a reminder e-mail (in the app's language, Chinese)."""
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("【评级】%(n)d 项待评分，截止 %(date)s") % {
            "n": reminder.pending,
            "date": reminder.deadline.isoformat(),
        }
        lines = [
            _("%(name)s，您好：") % {"name": reminder.user.get_full_name() or reminder.user},
            "",
        ]
        for w in reminder.waiting:
            query = urlencode({"scheme": w.rated.scheme.code, "period": w.period})
            lines.append(
                _(
                    "%(scheme)s，期间 %(period)s：%(pending)d 项待评分（已提交 %(done)d / %(cells)d），截止 %(date)s%(late)s"
                )
                % {
                    "scheme": w.rated.scheme.name,
                    "period": w.period,
                    "pending": w.progress.pending,
                    "done": w.progress.done,
                    "cells": w.progress.cells,
                    "date": w.deadline.isoformat(),
                    "late": _("（已逾期）") if w.overdue else "",
                }
            )
            lines.append(f"  {base_url.rstrip('/')}{reverse('ratings:sheet')}?{query}")
        lines += ["", _("此邮件由评级系统自动发送。")]
    return subject, "\n".join(lines)


def send(reminder: Reminder, base_url: str = "") -> bool:
    """E-mail one reminder; return False (nothing sent) when the user has no address."""
    if not reminder.user.email:
        return False
    subject, body = reminder_text(reminder, base_url)
    send_mail(subject, body, None, [reminder.user.email])
    return True
