"""Helpers for policy tests: the shipped files as data, and writing variants to disk."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from socialcredit.cli.policy import policy_app
from socialcredit.policy import shipped_policy_dir

FIXTURES = Path(__file__).parent / "fixtures"
NATIONAL_FILE = "cn-national-2026.1.yaml"

Writer = Callable[[str, dict[str, Any] | str], Path]


def shipped_raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((shipped_policy_dir() / name).read_text("utf-8"))
    return data


def regional(**fields: Any) -> dict[str, Any]:
    """A minimal valid regional policy extending the shipped baseline."""
    doc: dict[str, Any] = {
        "id": "cn-31-test",
        "version": "2026.1",
        "region": "31",
        "extends": "cn-national@2026.1",
        "title": "Test policy",
        "legal_basis": "《上海市社会信用条例》",
        "effective_from": "2026-04-01",
    }
    doc.update(fields)
    return doc


@pytest.fixture
def national_raw() -> dict[str, Any]:
    return copy.deepcopy(shipped_raw(NATIONAL_FILE))


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    def _write(name: str, content: dict[str, Any] | str) -> Path:
        path = tmp_path / name
        text = (
            content
            if isinstance(content, str)
            else yaml.safe_dump(content, allow_unicode=True, sort_keys=False)
        )
        path.write_text(text, "utf-8")
        return path

    return _write


def make_app() -> typer.Typer:
    """The root command with only the policy sub-app, as cli/app.py will register it."""
    app = typer.Typer()
    app.add_typer(policy_app, name="policy")
    return app
