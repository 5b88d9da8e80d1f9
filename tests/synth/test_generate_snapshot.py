"""``socialcredit generate --snapshot``: a whole population's scoring snapshot, streamed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from socialcredit.cli.app import app
from socialcredit.scoring.snapshot import check_snapshot

runner = CliRunner()


def test_generate_snapshot_writes_a_checked_partitioned_snapshot(tmp_path: Path) -> None:
    out = tmp_path / "snap"
    result = runner.invoke(
        app,
        [
            "generate",
            "--snapshot",
            "--subjects",
            "1500",
            "--records-per-subject",
            "4",
            "--today",
            "2027-03-31",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"]["subjects"] == 1500
    assert report["as_of"] == "2027-03-31"
    # What the manifest promises is what the files hold, province by province.
    assert check_snapshot(out) == report["rows"]
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    for table, listing in manifest["tables"].items():
        for partition, info in listing["partitions"].items():
            assert partition.startswith("province=")
            rows = sum(
                pq.ParquetFile(out / table / partition / f["name"]).metadata.num_rows
                for f in info["files"]
            )
            assert rows == info["rows"]
    assert 2 < report["rows"]["records"] / 1500 < 6


def test_generate_snapshot_refuses_mixed_options(tmp_path: Path) -> None:
    for args, message in (
        (["--snapshot"], "--subjects"),
        (["--snapshot", "--subjects", "5", "--persons", "3"], "not --persons"),
        (["--subjects", "5"], "--subjects goes with --snapshot"),
        ([], "--persons and --orgs"),
    ):
        result = runner.invoke(app, ["generate", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)


_CHILD = textwrap.dedent(
    """
    import datetime as dt, resource, sys
    from pathlib import Path
    import socialcredit.synth.bulk as bulk
    bulk.CHUNK_SUBJECTS = 5_000
    bulk.generate_snapshot(Path(sys.argv[1]), subjects=int(sys.argv[2]),
                           records_per_subject=10.0, as_of=dt.date(2027, 3, 31))
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """
)


def _peak_kib(out: Path, subjects: int) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(out), str(subjects)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(done.stdout.split()[-1])


def test_memory_stays_flat_as_the_population_grows(tmp_path: Path) -> None:
    """Sixteen times the subjects, same peak: memory holds one chunk, never the population."""
    small = _peak_kib(tmp_path / "small", 5_000)
    large = _peak_kib(tmp_path / "large", 80_000)
    assert large < small * 1.2 + 20_000, (small, large)
