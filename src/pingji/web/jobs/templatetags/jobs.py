"""`{% worker_banner %}`: a warning on the run and import pages when background work would
wait for a worker and none is alive."""

from __future__ import annotations

from django import template

from pingji.web.jobs import lease

register = template.Library()


@register.inclusion_tag("jobs/_worker_banner.html")
def worker_banner() -> dict:
    """Say, when no background worker is alive, that runs, imports and exports will wait."""
    return {"no_worker": lease.uses_worker() and not lease.worker_alive()}
