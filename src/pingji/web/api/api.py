"""The REST API (django-ninja): token authentication, OpenAPI at /api/docs."""

from ninja import NinjaAPI

api = NinjaAPI(title="pingji 评级 API", version="1", urls_namespace="api")
