from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "pingji.web.accounts"
    label = "accounts"
    verbose_name = "用户与部门"

    def ready(self) -> None:
        from pingji.web.accounts import signals
        from pingji.web.lib.access import ensure_roles

        post_migrate.connect(ensure_roles, sender=self)
        signals.connect()
