"""Manual ratings: assignments to departments, and ratings draft → submitted → approved."""

from __future__ import annotations

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

    class Meta:
        unique_together = [("scheme", "indicator", "department")]
        verbose_name = _("评分分工")
        verbose_name_plural = _("评分分工")

    def __str__(self) -> str:
        return f"{self.scheme.code}.{self.indicator} → {self.department}"


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
    score = models.DecimalField(_("分值"), max_digits=12, decimal_places=4)
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
        verbose_name = _("人工评分")
        verbose_name_plural = _("人工评分")
        permissions = [("approve_rating", "Can approve a manual rating")]

    def __str__(self) -> str:
        return f"{self.entity_id} {self.indicator} {self.period}: {self.score}"
