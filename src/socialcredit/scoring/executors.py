"""The executor interface: a snapshot in, a Parquet file of ScoreResults out.

Adding an engine (Spark, in a later issue) means adding a class here that
follows the contract in ``socialcredit.scoring``; the policy code is untouched.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from socialcredit.policy import ResolvedPolicy

Progress = Callable[[int], None]


class ExecutorUnavailableError(RuntimeError):
    """The engine cannot run here (a package or runtime is missing); the message says what."""


class PopulationExecutor(Protocol):
    name: str

    def score(
        self,
        snapshot: Path,
        out: Path,
        *,
        as_of: dt.date,
        policies: Sequence[ResolvedPolicy],
        progress: Progress | None = None,
        contributions: bool = False,
        lists_out: Path | None = None,
    ) -> int:
        """Score every subject of ``snapshot`` into ``out`` (RESULT_SCHEMA); returns the count.

        With ``lists_out`` the list criteria each subject meets are written there too
        (LIST_SCHEMA), decided from the same facts and grades as the scores.

        Without ``contributions`` the ``contributions`` column is null and every other
        column is exactly what it would be with it: a stored score keeps only its reasons,
        and an engine may spare itself building and ordering every contribution.
        """
        ...


def get_executor(name: str) -> PopulationExecutor:
    if name == "python":
        from socialcredit.scoring.python_executor import PythonExecutor

        return PythonExecutor()
    if name == "duckdb":
        # Imported by name: DuckDB is only loaded when a population rescore asks for it.
        module = importlib.import_module("socialcredit.scoring.duckdb_executor")
        executor: PopulationExecutor = module.DuckDBExecutor()
        return executor
    if name == "spark":
        # Imported by name: PySpark is optional, and only loaded for a Spark rescore.
        module = importlib.import_module("socialcredit.scoring.spark_executor")
        spark: PopulationExecutor = module.SparkExecutor()
        return spark
    raise ExecutorUnavailableError(f"unknown engine {name!r}; one of: {', '.join(ENGINES)}")


ENGINES = ("duckdb", "python", "spark")
