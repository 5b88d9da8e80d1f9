"""The public site's reads agree with the lists' own public view."""

from __future__ import annotations

import datetime as dt

import pytest

from socialcredit.identity.ids import mask
from socialcredit.lists import public_entries
from socialcredit.web.public_data import parse_search, search_entries
from tests.web.conftest import WebWorld


def test_same_entries_as_the_lists_public_view(world: WebWorld) -> None:
    today = dt.date.today()
    with world.engine.connect() as conn:
        for list_name in ("black", "red"):
            expected = public_entries(conn, list_name, limit=500)
            rows, total = search_entries(conn, list_name, None, today=today, limit=500)
            assert [r.entry_id for r in rows] == [e.entry_id for e in expected]
            assert [r.subject for r in rows] == [e.subject for e in expected]
            assert total == len(expected)
        # Past its planned exit an entry disappears from both, before any run moves it.
        later = today + dt.timedelta(days=3 * 365)
        assert search_entries(conn, "black", None, today=later)[1] == 0
        assert public_entries(conn, "black", as_of=later) == []


def test_parse_search() -> None:
    assert parse_search(None) is None and parse_search("  ") is None
    masked = parse_search("3101**********123x")
    assert masked is not None and masked.kind == "masked"
    assert (masked.prefix, masked.suffix) == ("3101", "123X")
    code = parse_search("91310101MA1FL0XX2P")
    assert code is not None and code.kind == "code"
    assert code.echo == mask("91310101MA1FL0XX2P")
    name = parse_search("张")
    assert name is not None and name.kind == "name"
    for bad in ("31**123X", "3101" + "*" * 14, "x" * 101, "张\x00"):
        with pytest.raises(ValueError):
            parse_search(bad)
