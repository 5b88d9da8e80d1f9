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


def test_a_search_knows_no_more_of_a_number_than_its_printed_mask() -> None:
    """Only the printed shape (4 + 10 stars + 4) is a masked search: a fifth known
    character would let a number be recovered one guess at a time."""
    number = "310104199003071234"
    for longer in (
        "31010" + "*" * 9 + "1234",  # one more character at the front
        "3101" + "*" * 9 + "11234",  # one more at the back
        "310104" + "*" * 8 + "1234",  # the whole division code known
        "3101*" + "0" + "*" * 8 + "1234",  # a known character in the middle
        "310" + "*" * 11 + "1234",  # fewer known: not the printed shape either
    ):
        with pytest.raises(ValueError):
            parse_search(longer)
    # A whole resident ID number searches as its masked form, never matched exactly.
    whole = parse_search(number)
    assert whole is not None and whole.kind == "masked"
    assert (whole.value, whole.prefix, whole.suffix) == (mask(number), "3101", "1234")
    assert whole.echo == whole.link == mask(number)
    assert parse_search(number[:17] + "x") == parse_search(mask(number[:17] + "X"))
    # An organisation's credit code is public: matched exactly, echoed masked, and the
    # pager goes on with the very same search.
    code = parse_search("91310101MA1FL0XX2P")
    assert code is not None and (code.kind, code.link) == ("code", "91310101MA1FL0XX2P")
