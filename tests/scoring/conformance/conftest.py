"""Every test here runs once per executor, in the manner of Ibis's backend suite.

- Adding an engine is one line in ``EXECUTORS``; a variant (an engine configured to take
  code paths that small inputs would not reach) is one line too.
- A test an engine cannot pass yet carries ``@pytest.mark.notimpl(["spark"], reason=...)``;
  for that engine it becomes a strict xfail, so the mark must go once the gap is closed.
- An engine that cannot run here (its module or runtime missing) is skipped locally and is
  an error when ``CI`` is set, so CI never goes green without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial

import pytest

from socialcredit.scoring.executors import (
    ExecutorUnavailableError,
    PopulationExecutor,
    get_executor,
)

# The helpers assert on results; let pytest explain their failures too.
pytest.register_assert_rewrite("tests.scoring.conformance.facts")


def _duckdb_in_small_passes() -> PopulationExecutor:
    from socialcredit.scoring.duckdb_executor import DuckDBExecutor

    # Subjects split over three passes and results streamed in batches of 4 rows, so
    # subjects straddle batches: the path a 100M-record population takes.
    return DuckDBExecutor(passes=3, batch_rows=4)


EXECUTORS: dict[str, Callable[[], PopulationExecutor]] = {
    # The in-process evaluator: the reference the others are compared with.
    "python": partial(get_executor, "python"),
    "duckdb": partial(get_executor, "duckdb"),
    "duckdb-passes": _duckdb_in_small_passes,
}
REFERENCE = "python"
# Configurations of an engine listed above, by their engine: they run the hand-written
# cases and the larger random population, not the hypothesis search, which their engine
# already gets, and share their engine's ``notimpl`` marks.
VARIANTS = {"duckdb-passes": "duckdb"}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "notimpl(executors, reason): the named executors do not implement this yet (strict xfail)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        name = callspec.params.get("executor_name") if callspec is not None else None
        for mark in item.iter_markers("notimpl"):
            if name in mark.args[0] or VARIANTS.get(str(name)) in mark.args[0]:
                reason = mark.kwargs.get("reason", "not implemented")
                item.add_marker(pytest.mark.xfail(reason=f"{name}: {reason}", strict=True))


def load_executor(name: str) -> PopulationExecutor:
    try:
        return EXECUTORS[name]()
    except (ImportError, ExecutorUnavailableError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"executor {name!r} is required in CI but unavailable: {exc}")
        pytest.skip(f"executor {name!r} unavailable here: {exc}")


@pytest.fixture(params=list(EXECUTORS))
def executor_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def executor(executor_name: str) -> PopulationExecutor:
    return load_executor(executor_name)
