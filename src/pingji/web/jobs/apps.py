from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "pingji.web.jobs"
    label = "jobs"
    verbose_name = "后台任务"

    def ready(self) -> None:
        from django.conf import settings

        # Django writes large uploads here (FILE_UPLOAD_TEMP_DIR): it must exist.
        if settings.FILE_UPLOAD_TEMP_DIR:
            from pathlib import Path

            Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
