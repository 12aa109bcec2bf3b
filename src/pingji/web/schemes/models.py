"""Schemes and their versions: draft → published (immutable)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scheme(models.Model):
    """A named evaluation scheme (a built-in or uploaded one); its content lives in versions."""

    code = models.SlugField(_("代码"), max_length=80, unique=True)  # the YAML's id
    name = models.CharField(_("名称"), max_length=200)
    entity = models.CharField(_("评价对象表"), max_length=40)  # customers, suppliers, …
    period = models.CharField(_("评价期间"), max_length=10, blank=True)  # year, quarter, month
    builtin = models.BooleanField(_("内置"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("评价方案")
        verbose_name_plural = _("评价方案")

    def __str__(self) -> str:
        return self.name

    def latest_published(self) -> SchemeVersion | None:
        return (
            self.versions.filter(status=SchemeVersion.Status.PUBLISHED).order_by("-number").first()
        )


class SchemeVersion(models.Model):
    """One version of a scheme's YAML. Once published it never changes."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")

    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(
        _("状态"), max_length=12, choices=Status.choices, default=Status.DRAFT
    )
    yaml = models.TextField("YAML")
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheme", "-number"]
        unique_together = [("scheme", "number")]
        verbose_name = _("方案版本")
        verbose_name_plural = _("方案版本")
        permissions = [("publish_schemeversion", "Can publish a scheme version")]

    def __str__(self) -> str:
        return f"{self.scheme.code} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == self.Status.PUBLISHED

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            stored = SchemeVersion.objects.filter(pk=self.pk).values("status", "yaml").first()
            if stored and stored["status"] == self.Status.PUBLISHED:
                raise ValidationError(_("已发布的版本不可修改；请新建版本。"))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.is_published:
            raise ValidationError(_("已发布的版本不可删除。"))
        return super().delete(*args, **kwargs)
