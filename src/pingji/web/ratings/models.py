"""Manual ratings: assignments to departments, and ratings draft → submitted → approved."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Assignment(models.Model):
    """A manual indicator of a scheme that a department rates, for some or all entities."""

    scheme = models.ForeignKey("schemes.Scheme", on_delete=models.CASCADE, related_name="+")
    indicator = models.CharField(_("指标"), max_length=80)  # the rating's indicator code
    department = models.ForeignKey(
        "accounts.Department", on_delete=models.CASCADE, related_name="assignments"
    )
    entity_ids = models.JSONField(_("评价对象"), default=list, blank=True)  # empty: all
    # The period raters are asked to rate now (blank: the period containing today) and the
    # last day to submit it (inclusive, in PINGJI_TIME_ZONE; none: no deadline).
    period = models.CharField(_("评分期间"), max_length=20, blank=True)
    deadline = models.DateField(_("截止日期"), null=True, blank=True)
    # Blind rating: a rater sees other raters' scores of a cell only after submitting theirs.
    blind = models.BooleanField(_("盲评"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        ordering = ["scheme__code", "indicator", "department__code"]
        unique_together = [("scheme", "indicator", "department")]
        verbose_name = _("评分分工")
        verbose_name_plural = _("评分分工")

    def __str__(self) -> str:
        return f"{self.scheme.code}.{self.indicator} → {self.department}"

    @property
    def for_all(self) -> bool:
        """Whether the department rates every entity (no list given)."""
        return not self.entity_ids

    def covers(self, entity_id: str) -> bool:
        """Whether this assignment includes `entity_id`."""
        return not self.entity_ids or entity_id in self.entity_ids


class Rating(models.Model):
    """One rater's score of one indicator for one entity and period."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SUBMITTED = "submitted", _("已提交")
        APPROVED = "approved", _("已批准")
        REJECTED = "rejected", _("已退回")

    scheme = models.ForeignKey("schemes.Scheme", on_delete=models.CASCADE, related_name="+")
    indicator = models.CharField(_("指标"), max_length=80)
    entity_id = models.CharField(_("评价对象"), max_length=100, db_index=True)
    period = models.CharField(_("期间"), max_length=20, db_index=True)
    # Wide enough for scales such as amounts (bank-customer-contribution: up to 1e15).
    score = models.DecimalField(_("分值"), max_digits=20, decimal_places=4)
    comment = models.TextField(_("说明"), blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    rater = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ratings"
    )
    department = models.ForeignKey(
        "accounts.Department", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("审核意见"), blank=True)

    class Meta:
        ordering = ["period", "entity_id", "indicator"]
        unique_together = [("scheme", "indicator", "entity_id", "period", "rater")]
        indexes = [models.Index(fields=["scheme", "period", "status"])]
        verbose_name = _("人工评分")
        verbose_name_plural = _("人工评分")
        permissions = [("approve_rating", "Can approve a manual rating")]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.indicator} {self.period}: {self.score}"

    @property
    def is_editable(self) -> bool:
        """Whether the rater may still change it (a draft, or returned by a reviewer)."""
        return self.status in (self.Status.DRAFT, self.Status.REJECTED)

    def snapshot(self) -> dict:
        """What the audit log keeps before and after a change."""
        return {
            "scheme": self.scheme.code,
            "indicator": self.indicator,
            "entity_id": self.entity_id,
            "period": self.period,
            "score": None if self.score is None else format(Decimal(self.score).normalize(), "f"),
            "comment": self.comment,
            "status": self.status,
            "review_note": self.review_note,
        }
