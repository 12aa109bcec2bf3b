from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "pingji.web.runs"
    label = "runs"
    verbose_name = "评价运行"
