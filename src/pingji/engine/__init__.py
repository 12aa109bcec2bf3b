"""The engine: one set-based Ibis plan per evaluation, run on DuckDB, PostgreSQL or Spark."""

from pingji.engine.plan import Plan, build_plan
from pingji.engine.run import Evaluation, evaluate, execute

__all__ = ["Evaluation", "Plan", "build_plan", "evaluate", "execute"]
