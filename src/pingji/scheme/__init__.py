"""The scheme language: YAML files validated into typed models and resolved for the engine."""

from pingji.scheme.models import Scheme
from pingji.scheme.resolve import ResolvedNode, ResolvedScheme, load_scheme

__all__ = ["ResolvedNode", "ResolvedScheme", "Scheme", "load_scheme"]
