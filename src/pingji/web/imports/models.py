"""Import batches: one uploaded file of one contract table, stored as one Parquet file."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pingji.web.jobs.models import LeasedJob


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


class Upload(LeasedJob):
    """An uploaded file waiting to be committed, and the background work on it (inspection,
    then commit) — see uploads.py for its states. The file is in uploads/<id>/."""

    id = models.CharField(primary_key=True, max_length=32, editable=False)  # uuid4 hex
    table = models.CharField(_("数据表"), max_length=40)
    file_name = models.CharField(_("文件名"), max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    size = models.PositiveBigIntegerField(default=0)
    checksum = models.CharField(max_length=64)  # sha256 of the file
    report = models.JSONField(default=dict, blank=True)  # the inspection (uploads.report_of)
    state = models.CharField(max_length=12, default="inspecting", db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)  # 0–100
    stage = models.CharField(max_length=100, blank=True)  # a msgid (Chinese), shown translated
    # why the inspection or the last commit failed (lib/language.stored_text: shown_error)
    error = models.TextField(blank=True)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("上传的文件")
        verbose_name_plural = _("上传的文件")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.table}, {self.state})"

    @property
    def folder(self):
        from pingji.web.lib import workspace

        return workspace.uploads_dir() / self.id

    @property
    def path(self):
        return self.folder / self.file_name

    @property
    def created(self):
        return self.created_at

    @property
    def shown_error(self) -> str:
        """The error, worded in the active language (it is stored in every language)."""
        from pingji.web.lib.language import viewer_text

        return viewer_text(self.error)

    @property
    def ok(self) -> bool:
        """Inspected, without a problem: it can be committed (unless it is a duplicate)."""
        return self.state == "ready" and bool((self.report or {}).get("ok"))

    @property
    def busy(self) -> bool:
        """A task (inspection or commit) is queued or running for it."""
        return self.state in ("inspecting", "committing")
