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
from collections.abc import Callable, Iterator
from functools import partial

import pytest
from hypothesis import settings

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


def _spark_local() -> PopulationExecutor:
    # Tiny inputs: two local cores and two shuffle partitions, so a case costs a second or
    # so, and a subject's rows still meet rows of other subjects in a partition.
    os.environ.setdefault("SOCIALCREDIT_SPARK_SHUFFLE_PARTITIONS", "2")
    os.environ.setdefault("SOCIALCREDIT_SPARK_DRIVER_MEMORY", "1g")
    from socialcredit.scoring.spark_executor import SparkExecutor

    return SparkExecutor(master="local[2]")


EXECUTORS: dict[str, Callable[[], PopulationExecutor]] = {
    # The in-process evaluator: the reference the others are compared with.
    "python": partial(get_executor, "python"),
    "duckdb": partial(get_executor, "duckdb"),
    "duckdb-passes": _duckdb_in_small_passes,
    "spark": _spark_local,
}
# Engines whose every case pays for a JVM round trip: marked ``slow`` (still run by default
# and in CI; ``-m "not slow"`` leaves them out of a quick local run).
SLOW = {"spark"}
# Hypothesis examples per search for engines whose every example pays a JVM round trip
# (about 3 s): enough to explore, with the hand-written cases and the larger population
# run in full on them too.
MAX_EXAMPLES = {"spark": 8}
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
        if name in SLOW:
            item.add_marker(pytest.mark.slow)
        for mark in item.iter_markers("notimpl"):
            if name in mark.args[0] or VARIANTS.get(str(name)) in mark.args[0]:
                reason = mark.kwargs.get("reason", "not implemented")
                item.add_marker(pytest.mark.xfail(reason=f"{name}: {reason}", strict=True))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fewer hypothesis examples for the engines in ``MAX_EXAMPLES``, for their runs only:
    the test function is shared by every executor's parameter, so its settings are swapped
    for the call and put back after."""
    callspec = getattr(item, "callspec", None)
    name = callspec.params.get("executor_name") if callspec is not None else None
    test = getattr(item, "obj", None)
    current = getattr(test, "_hypothesis_internal_use_settings", None)
    if name not in MAX_EXAMPLES or current is None:
        yield
        return
    wanted = min(current.max_examples, MAX_EXAMPLES[name])
    test._hypothesis_internal_use_settings = settings(current, max_examples=wanted)  # type: ignore[union-attr]
    try:
        yield
    finally:
        test._hypothesis_internal_use_settings = current  # type: ignore[union-attr]


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
