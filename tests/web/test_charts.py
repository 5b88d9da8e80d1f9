"""Server-side SVG charts."""

from __future__ import annotations

import re

import pytest

from socialcredit.web.charts import Labels, Series, columns, rows

LABELS = Labels(title="标题", description="说明", table="数据表", category="月份", total="合计")


def _rects(svg: str) -> list[tuple[float, int]]:
    return [
        (float(w), int(v))
        for w, v in re.findall(r'<rect [^>]*width="([\d.]+)"[^>]*data-value="(\d+)"', svg)
    ]


def test_stacked_columns_carry_every_value_and_a_table() -> None:
    svg = str(
        columns(
            ["2026-10", "2026-11"],
            [Series("上海市", [3, 0]), Series("江苏省", [1, 5])],
            LABELS,
        )
    )
    assert [v for _, v in _rects(svg)] == [3, 1, 5]  # zeros draw nothing
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg
    # The data table, with a total per month.
    assert '<th scope="row">2026-10</th><td>3</td><td>1</td><td>4</td>' in svg
    # Heights are proportional to the values.
    bars = re.findall(r'height="([\d.]+)" fill="[^"]+" data-value="(\d+)"', svg)
    ratios = {round(float(h) / int(v), 1) for h, v in bars}
    assert len(bars) == 3 and len(ratios) == 1


def test_percent_rows_fill_the_width() -> None:
    svg = str(
        rows(["上海市", "安徽省"], [Series("A", [1, 3]), Series("B", [3, 1])], LABELS, percent=True)
    )
    widths = [w for w, _ in _rects(svg)]
    assert widths[0] + widths[1] == pytest.approx(widths[2] + widths[3], abs=0.2)
    assert widths[1] == pytest.approx(3 * widths[0], abs=0.5)  # drawn to 0.1 px


def test_grouped_rows_compare_series() -> None:
    svg = str(
        rows(["AAA", "A"], [Series("旧", [2, 4]), Series("新", [4, 0])], LABELS, grouped=True)
    )
    assert [v for _, v in _rects(svg)] == [2, 4, 4, 0]


def test_labels_are_escaped() -> None:
    svg = str(columns(["<b>"], [Series('<script>alert("x")</script>', [1])], LABELS))
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_series_must_match_categories() -> None:
    with pytest.raises(ValueError):
        columns(["a", "b"], [Series("s", [1])], LABELS)
