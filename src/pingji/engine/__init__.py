"""The engine: a scheme compiled once per (period, data shape, dialect) into SQL, run on
DuckDB, PostgreSQL or Spark. Importing it loads no Ibis: only compiling does."""

from pingji.engine.frozen import FrozenPlan
from pingji.engine.run import Evaluation, evaluate, execute, plan_for

__all__ = ["Evaluation", "FrozenPlan", "evaluate", "execute", "plan_for"]
