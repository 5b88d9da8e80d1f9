"""The one SparkSession of this process: found, checked and configured here.

Spark is optional: nothing imports PySpark until a Spark executor is built, and a
machine without PySpark or Java gets an ``ExecutorUnavailableError`` that says what
to install. The session runs offline (no ``--packages``, no downloads): everything it
needs ships inside the PySpark wheel.

Settings come from the environment so that the CLI, tests and benchmarks configure the
same code path:

- ``SOCIALCREDIT_SPARK_MASTER``: ``local[2]``, ``local[*]``, ``spark://host:7077``...
  (default ``local[*]``);
- ``SOCIALCREDIT_SPARK_DRIVER_MEMORY`` (default ``2g``; in local mode the driver is the
  executor too);
- ``SOCIALCREDIT_SPARK_SHUFFLE_PARTITIONS`` (default: twice the cores of a local master,
  else 200, Spark's own default).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialcredit.scoring.executors import ExecutorUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

ENV_MASTER = "SOCIALCREDIT_SPARK_MASTER"
ENV_DRIVER_MEMORY = "SOCIALCREDIT_SPARK_DRIVER_MEMORY"
ENV_SHUFFLE_PARTITIONS = "SOCIALCREDIT_SPARK_SHUFFLE_PARTITIONS"
DEFAULT_MASTER = "local[*]"
DEFAULT_DRIVER_MEMORY = "2g"
# Spark 4.0 runs on Java 17 and 21 only.
MIN_JAVA = 17
INSTALL_PYSPARK = "pip install 'socialcredit[spark]' (PySpark 4.0)"
INSTALL_JAVA = "apt-get install openjdk-17-jre-headless, or set JAVA_HOME to a Java 17 or 21"

# HotSpot leaves methods over 8,000 bytecode bytes to its interpreter; the code Spark
# generates for the scoring plan's fused projections is bigger, and interpreted it ran 3-6
# times slower (measured on 10M records). Let the JIT compile them.
JVM_OPTIONS = "-XX:-DontCompileHugeMethods"

# Spark's default log4j2 setup prints INFO lines on every start; the CLI's stderr is for
# progress bars and errors.
_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""

_session: SparkSession | None = None
_session_key: tuple[str, str, str] | None = None


def java_binary() -> Path | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java`` if set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        return candidate if candidate.is_file() else None
    found = shutil.which("java")
    return Path(found) if found else None


def java_major(java: Path) -> int | None:
    """The major version ``java -version`` reports (17 for "17.0.15"), or None."""
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', done.stderr + done.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    # Java 8 and older report themselves as "1.8".
    return int(match.group(2) or 0) if major == 1 else major


def check_available() -> None:
    """Raise ``ExecutorUnavailableError`` naming what to install if Spark cannot run here."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ExecutorUnavailableError(
            f"the spark engine needs PySpark, which is not installed: {INSTALL_PYSPARK}"
        ) from exc
    java = java_binary()
    if java is None:
        where = "JAVA_HOME" if os.environ.get("JAVA_HOME") else "PATH"
        raise ExecutorUnavailableError(
            f"the spark engine needs Java {MIN_JAVA} or newer, and there is none on {where}: "
            f"{INSTALL_JAVA}"
        )
    major = java_major(java)
    if major is None or major < MIN_JAVA:
        found = f"Java {major}" if major else "an unrecognised Java"
        raise ExecutorUnavailableError(
            f"the spark engine needs Java {MIN_JAVA} or newer; {java} is {found}: {INSTALL_JAVA}"
        )


def _local_cores(master: str) -> int | None:
    match = re.fullmatch(r"local\[(\d+|\*)(?:,\d+)?\]|local", master)
    if match is None:
        return None
    cores = match.group(1)
    if cores is None:
        return 1
    return os.cpu_count() or 1 if cores == "*" else int(cores)


def settings(master: str | None = None) -> dict[str, str]:
    """The session's configuration; ``master`` overrides ``SOCIALCREDIT_SPARK_MASTER``."""
    master = master or os.environ.get(ENV_MASTER) or DEFAULT_MASTER
    cores = _local_cores(master)
    partitions = os.environ.get(ENV_SHUFFLE_PARTITIONS) or str(2 * cores if cores else 200)
    return {
        "spark.master": master,
        "spark.app.name": "socialcredit-rescore",
        "spark.driver.memory": os.environ.get(ENV_DRIVER_MEMORY) or DEFAULT_DRIVER_MEMORY,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": partitions,
        # Dates and the as-of cut-off are UTC instants by the scoring contract; the
        # machine's zone must not move them.
        "spark.sql.session.timeZone": "UTC",
        # A province partition "31" stays text, like the column it stands for.
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
        # Timestamps without a zone (how pyarrow and the exports write them) stay so.
        "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
        # The plan has one fixed shape (one exchange, then windows that need exactly its
        # hash partitioning); adaptive re-planning between stages has nothing to choose and
        # costs a second per rescore on small inputs.
        "spark.sql.adaptive.enabled": "false",
        # Plans are big SQL strings with literal arrays; no need to log them when slow.
        "spark.sql.maxPlanStringLength": "4096",
    }


def _log_config() -> Path:
    folder = Path(tempfile.gettempdir()) / "socialcredit-spark"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "log4j2.properties"
    if not path.is_file() or path.read_text("utf-8") != _LOG4J2:
        path.write_text(_LOG4J2, encoding="utf-8")
    return path


def get_session(master: str | None = None) -> SparkSession:
    """The process's SparkSession, created on first use; a different master (or memory)
    stops the old one first, since a JVM holds one SparkContext at a time."""
    global _session, _session_key
    check_available()
    wanted = settings(master)
    key = (
        wanted["spark.master"],
        wanted["spark.driver.memory"],
        wanted["spark.sql.shuffle.partitions"],
    )
    if _session is not None and _session_key == key:
        return _session
    stop_session()
    from pyspark.sql import SparkSession

    log = _log_config()
    builder: Any = SparkSession.builder
    for name, value in wanted.items():
        builder = builder.config(name, value)
    builder = builder.config(
        "spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={log} {JVM_OPTIONS}"
    ).config("spark.executor.extraJavaOptions", JVM_OPTIONS)
    try:
        session: SparkSession = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start: a runtime problem, not a bug here
        raise ExecutorUnavailableError(f"Spark could not start ({exc}); {INSTALL_JAVA}") from exc
    session.sparkContext.setLogLevel("ERROR")
    _session, _session_key = session, key
    return session


def stop_session() -> None:
    global _session, _session_key
    if _session is not None:
        _session.stop()
    _session, _session_key = None, None


atexit.register(stop_session)
