"""Bar charts drawn on the server as SVG: readable without JavaScript, printable, and
accessible (a title and description for screen readers, a data table beside each).

Every label and name is escaped here; the result is the one piece of markup the
templates insert unescaped. Colours meet the 3:1 contrast WCAG asks of graphics
against the white background, and every value is also in the table, so nothing
depends on telling colours apart.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Okabe–Ito hues, darkened where needed for 3:1 against white.
PALETTE = ("#0072B2", "#C0510A", "#007A5A", "#882255", "#4B4B9B", "#8A6D00", "#333333")
# Best grade to worst: greens to reds, each at least 3:1 against white.
GRADE_COLOURS = {
    "AAA": "#00441B",
    "AA": "#1B7837",
    "A": "#4D8F3A",
    "B": "#8A6D00",
    "C": "#C0510A",
    "D": "#8B0000",
}

WIDTH = 720
FONT = 12
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str | None = None


@dataclass(frozen=True)
class Labels:
    """The chart's words, already in the reader's language."""

    title: str
    description: str
    table: str  # the summary of the data table, e.g. "Data table"
    category: str  # the first column's heading
    total: str | None = None  # a total column, when the bars are stacked


def _nice_step(value: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _axis(top_value: float, ticks: int = 4) -> tuple[float, float]:
    """The axis maximum and the step between gridlines: whole steps (counts are whole
    numbers, so never a step below 1), about ``ticks`` of them."""
    step = max(1.0, _nice_step(top_value / ticks))
    return max(step, math.ceil(top_value / step) * step), step


def _nice_max(value: float) -> float:
    return _axis(value)[0]


def text_width(text: str) -> float:
    """Roughly how wide ``text`` is drawn at the chart's font size: CJK characters take
    about a full em, Latin ones a little over half."""
    return sum(FONT if ord(ch) >= 0x2E80 else FONT * 0.6 for ch in text)


def _fmt(value: float, percent: bool) -> str:
    if percent:
        return f"{value:.1f}%"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{FONT}"{klass}>'
        f"{escape(text)}</text>"
    )


def _colours(series: Sequence[Series]) -> list[str]:
    return [s.colour or PALETTE[i % len(PALETTE)] for i, s in enumerate(series)]


def _legend_rows(series: Sequence[Series]) -> int:
    """How many lines ``_legend`` takes for these series."""
    lines, x = 1, 8.0
    for s in series:
        width = 28 + text_width(s.name)
        if x + width > WIDTH:
            lines, x = lines + 1, 8.0
        x += width
    return lines


def _legend(series: Sequence[Series], colours: list[str], y: float) -> list[str]:
    out, x = [], 8.0
    for s, colour in zip(series, colours, strict=True):
        width = 28 + text_width(s.name)
        if x + width > WIDTH:
            x, y = 8.0, y + 18
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(x + 16, y, s.name))
        x += width
    return out


def _table(
    categories: Sequence[str], series: Sequence[Series], labels: Labels, percent: bool
) -> str:
    head = "".join(f'<th scope="col">{escape(s.name)}</th>' for s in series)
    if labels.total:
        head += f'<th scope="col">{escape(labels.total)}</th>'
    rows = []
    for i, category in enumerate(categories):
        cells = "".join(f"<td>{_fmt(s.values[i], percent)}</td>" for s in series)
        if labels.total:
            cells += f"<td>{_fmt(sum(s.values[i] for s in series), percent)}</td>"
        rows.append(f'<tr><th scope="row">{escape(category)}</th>{cells}</tr>')
    return (
        f'<details class="chart-data"><summary>{escape(labels.table)}</summary>'
        f'<table><thead><tr><th scope="col">{escape(labels.category)}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></details>"
    )


def _figure(svg: list[str], labels: Labels, table: str, height: float, uid: int) -> Markup:
    title_id, desc_id = f"chart{uid}-title", f"chart{uid}-desc"
    opening = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" class="chart-svg">'
        f'<title id="{title_id}">{escape(labels.title)}</title>'
        f'<desc id="{desc_id}">{escape(labels.description)}</desc>'
    )
    # The caption first: it is the chart's heading, read before the drawing.
    return Markup(
        f'<figure class="chart"><figcaption>{escape(labels.title)}</figcaption>'
        f"{opening}{''.join(svg)}</svg>{table}</figure>"
    )


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(categories)}")


def columns(
    categories: Sequence[str],
    series: Sequence[Series],
    labels: Labels,
    *,
    height: int = 300,
) -> Markup:
    """Vertical columns, one per category (months, say), each a stack of the series."""
    _check(categories, series)
    uid = next(_ids)
    colours = _colours(series)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    top, step = _axis(max(totals, default=0))
    left, right, plot_top = 56.0, 12.0, 16.0
    legend_h = 18.0 * _legend_rows(series)
    plot_bottom = height - 48.0 - legend_h
    plot_h = plot_bottom - plot_top
    n = max(len(categories), 1)
    slot = (WIDTH - left - right) / n
    bar = max(min(slot * 0.7, 48.0), 2.0)
    svg: list[str] = []
    for k in range(round(top / step) + 1):
        value = step * k
        y = plot_bottom - plot_h * value / top
        svg.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        svg.append(_text(left - 6, y + 4, _fmt(value, False), anchor="end"))
    every = max(1, math.ceil(n / 12))  # at most a dozen category labels fit
    for i, category in enumerate(categories):
        x = left + slot * i + (slot - bar) / 2
        base = plot_bottom
        for s, colour in zip(series, colours, strict=True):
            value = s.values[i]
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            svg.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}" data-value="{_fmt(value, False)}">'
                f"<title>{escape(category)} · {escape(s.name)}: {_fmt(value, False)}</title></rect>"
            )
        if i % every == 0:
            svg.append(_text(x + bar / 2, plot_bottom + 16, category, anchor="middle"))
    svg.append(
        f'<line x1="{left}" x2="{WIDTH - right}" y1="{plot_bottom}" y2="{plot_bottom}" '
        'class="axis"/>'
    )
    svg += _legend(series, colours, plot_bottom + 40)
    return _figure(svg, labels, _table(categories, series, labels, False), height, uid)


def rows(
    categories: Sequence[str],
    series: Sequence[Series],
    labels: Labels,
    *,
    percent: bool = False,
    grouped: bool = False,
) -> Markup:
    """Horizontal bars, one per category (a province, a grade...), each a stack of the
    series; with ``percent`` every bar is scaled to 100% (a distribution); ``grouped``
    puts the series side by side instead (one thin bar each), to compare them."""
    _check(categories, series)
    uid = next(_ids)
    colours = _colours(series)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    label_w = min(240.0, 16.0 + max((text_width(c) for c in categories), default=48.0))
    left, right, gap, top_pad = label_w, 64.0, 8.0, 8.0
    thin = 14.0
    bar_h = thin * len(series) if grouped else 20.0
    legend_rows = 0 if len(series) == 1 else _legend_rows(series)
    height = top_pad + len(categories) * (bar_h + gap) + 24 + 18 * legend_rows
    if percent:
        scale_max = 100.0
    elif grouped:
        scale_max = _nice_max(max((v for s in series for v in s.values), default=0))
    else:
        scale_max = _nice_max(max(totals, default=0))
    plot_w = WIDTH - left - right
    svg: list[str] = []
    for i, category in enumerate(categories):
        y = top_pad + i * (bar_h + gap)
        svg.append(_text(left - 8, y + min(bar_h, 20.0) * 0.7, category, anchor="end"))
        x = left
        for k, (s, colour) in enumerate(zip(series, colours, strict=True)):
            raw = s.values[i]
            if grouped:
                x = left
                w = plot_w * raw / scale_max
                svg.append(
                    f'<rect x="{x:.1f}" y="{y + k * thin:.1f}" width="{w:.1f}" '
                    f'height="{thin - 2:.1f}" fill="{colour}" data-value="{_fmt(raw, False)}">'
                    f"<title>{escape(category)} · {escape(s.name)}: {_fmt(raw, False)}</title>"
                    "</rect>"
                )
                svg.append(_text(x + w + 6, y + k * thin + thin * 0.7, _fmt(raw, False)))
                continue
            if raw <= 0:
                continue
            value = raw * 100.0 / totals[i] if percent and totals[i] else raw
            w = plot_w * value / scale_max
            shown = f"{_fmt(value, percent)} ({_fmt(raw, False)})" if percent else _fmt(raw, False)
            svg.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{colour}" data-value="{_fmt(raw, False)}">'
                f"<title>{escape(category)} · {escape(s.name)}: {shown}</title></rect>"
            )
            x += w
        if not grouped:
            svg.append(_text(x + 6, y + bar_h * 0.7, _fmt(totals[i], False)))
    axis_y = top_pad + len(categories) * (bar_h + gap)
    svg.append(f'<line x1="{left}" x2="{left}" y1="{top_pad}" y2="{axis_y}" class="axis"/>')
    if legend_rows:
        svg += _legend(series, colours, axis_y + 22)
    return _figure(svg, labels, _table(categories, series, labels, False), height, uid)
