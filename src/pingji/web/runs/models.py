"""Evaluation runs: a scheme version applied to the data batches for one period."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Run(models.Model):
    """One evaluation. Immutable once done: it records exactly what it read."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("排队中")
        RUNNING = "running", _("运行中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("失败")

    scheme_version = models.ForeignKey(
        "schemes.SchemeVersion", on_delete=models.PROTECT, related_name="runs"
    )
    period = models.CharField(_("期间"), max_length=20)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    status = models.CharField(
        _("状态"), max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    progress = models.PositiveSmallIntegerField(_("进度"), default=0)  # 0–100
    stage = models.CharField(_("阶段"), max_length=100, blank=True)
    error = models.TextField(_("错误"), blank=True)
    batches = models.ManyToManyField("imports.ImportBatch", related_name="runs", blank=True)
    ratings_used = models.PositiveIntegerField(_("采用的人工评分"), default=0)
    entities = models.PositiveBigIntegerField(_("评价对象数"), null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)  # distributions, counts, warnings
    results_path = models.CharField(max_length=500, blank=True)  # relative to PINGJI_HOME
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("评价运行")
        verbose_name_plural = _("评价运行")

    def __str__(self) -> str:
        return f"#{self.pk} {self.scheme_version} {self.period}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            stored = Run.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if stored in (self.Status.DONE, self.Status.FAILED):
                raise ValidationError(_("已结束的运行不可修改。"))
        super().save(*args, **kwargs)
