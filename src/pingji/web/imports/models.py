"""Import batches: one uploaded file of one contract table, stored as one Parquet file."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportBatch(models.Model):
    """A committed import. Rows are never edited; a batch is withdrawn (audited), not erased."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        WITHDRAWN = "withdrawn", _("已撤回")

    table = models.CharField(_("数据表"), max_length=40, db_index=True)
    file_name = models.CharField(_("文件名"), max_length=255)
    checksum = models.CharField(_("校验和"), max_length=64, db_index=True)  # sha256 of the file
    rows = models.PositiveBigIntegerField(_("行数"))
    path = models.CharField(max_length=500)  # Parquet file, relative to PINGJI_HOME
    min_date = models.DateField(_("最早日期"), null=True, blank=True)
    max_date = models.DateField(_("最晚日期"), null=True, blank=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("导入时间"), auto_now_add=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)
    withdraw_reason = models.TextField(_("撤回原因"), blank=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("导入批次")
        verbose_name_plural = _("导入批次")

    def __str__(self) -> str:
        return f"#{self.pk} {self.table} {self.file_name}"
