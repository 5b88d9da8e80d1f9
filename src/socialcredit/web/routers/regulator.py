"""The regulator's dashboard: grade distributions, the impact of a draft policy, the
objection and repair queues with their deadlines, and the health of the feeds.

Regulator keys only. Distributions and feed health are counts; the queues and the
impact view's biggest movers name subjects (masked), so reading them is audited.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from socialcredit.access import Role
from socialcredit.api.auditing import Auditor, audited, note
from socialcredit.casework.objections import (
    ObjectionView,
    list_objections,
)
from socialcredit.casework.repair import RepairView, list_repairs
from socialcredit.policy import load_policies
from socialcredit.policy.diff import DiffReport
from socialcredit.web import charts
from socialcredit.web.errors import WebError
from socialcredit.web.i18n import Translator
from socialcredit.web.labels import city_name, label, province_name
from socialcredit.web.public_data import FeedHealth, feed_health
from socialcredit.web.regulator_data import (
    Distribution,
    PolicyPair,
    grade_distribution,
    impact,
    policy_pairs,
)
from socialcredit.web.routers.auth import require
from socialcredit.web.templating import render, translator

router = APIRouter(prefix="/regulator", include_in_schema=False)

_NEXT_STEP = {"filed": "flag", "flagged": "forward", "forwarded": "decision"}


def today() -> dt.date:
    return dt.date.today()


def _grade_chart(
    t: Translator,
    title: str,
    groups: dict[str, Counter[str]],
    names: dict[str, str],
    grades: list[str],
) -> object:
    categories = [names.get(k, k) for k in groups]
    series = [
        charts.Series(g, [groups[k][g] for k in groups], charts.GRADE_COLOURS.get(g))
        for g in grades
    ]
    return charts.rows(
        categories,
        series,
        charts.Labels(
            title=title,
            description=t.plain(
                "One bar per group, divided by grade in proportion; the number after each "
                "bar is the subjects in the group."
            ),
            table=t.plain("Data table"),
            category=t.plain("Group"),
            total=t.plain("Total"),
        ),
        percent=True,
    )


@router.get("")
async def dashboard(request: Request) -> Response:
    await require(request, Role.REGULATOR)
    t = translator(request)
    engine = request.app.state.engine

    def read() -> Distribution:
        with engine.connect() as conn:
            return grade_distribution(conn)

    dist = await run_in_threadpool(read)
    provinces = {code: province_name(code, t.language) for code in dist.by_province}
    cities = {code: city_name(code) for code in dist.by_city}
    # Old division codes can share a name (two codes of 上海市): the code tells them apart.
    named = Counter(cities.values())
    cities = {code: f"{name} {code}" if named[name] > 1 else name for code, name in cities.items()}
    professions = {code: label(t, "profession", code) for code in dist.by_profession}
    figures = [
        _grade_chart(t, t.plain("Grades by province"), dist.by_province, provinces, dist.grades),
        _grade_chart(
            t, t.plain("Grades by city (largest cities)"), dist.by_city, cities, dist.grades
        ),
    ]
    if dist.by_profession:
        figures.append(
            _grade_chart(
                t,
                t.plain("Grades by profession"),
                dist.by_profession,
                professions,
                dist.grades,
            )
        )
    bands = list(dist.histogram)
    figures.append(
        charts.columns(
            [str(b) for b in bands],
            [charts.Series(t.plain("Subjects"), [dist.histogram[b] for b in bands])],
            charts.Labels(
                title=t.plain("Scores, in bands of 50 points"),
                description=t.plain("One column per band of 50 points, from its lowest score."),
                table=t.plain("Data table"),
                category=t.plain("Score from"),
            ),
        )
    )
    return render(
        request,
        "regulator/dashboard.html",
        title=t.plain("Regulator dashboard"),
        private=True,
        dist=dist,
        figures=figures,
    )


@dataclass(frozen=True)
class QueueItem:
    case: ObjectionView
    step: str | None
    due: dt.date | None
    overdue: bool


@router.get("/objections", openapi_extra=audited("web.regulator.objections"))
async def objections(request: Request) -> Response:
    user = await require(request, Role.REGULATOR)
    t = translator(request)
    engine = request.app.state.engine
    day = today()

    def read() -> tuple[list[ObjectionView], list[ObjectionView], list[RepairView]]:
        with engine.connect() as conn:
            cases = list_objections(conn)
            repairs = list_repairs(conn, status="filed")
        open_cases = [c for c in cases if c.status != "decided"]
        recent = [
            c
            for c in cases
            if c.status == "decided" and c.decided_on and (day - c.decided_on).days <= 30
        ]
        return open_cases, recent, repairs

    open_cases, recent, repairs = await run_in_threadpool(read)
    queue = sorted(
        (
            QueueItem(
                case=c,
                step=_NEXT_STEP.get(c.status),
                due=c.current_due,
                overdue=c.overdue_on(day),
            )
            for c in open_cases
        ),
        key=lambda q: (not q.overdue, q.due or day, q.case.id),
    )
    note(request, open=len(queue), decided_recently=len(recent), repairs=len(repairs))
    auditor: Auditor = request.app.state.auditor
    await auditor.record_async(request, user.principal, "ok")
    return render(
        request,
        "regulator/objections.html",
        title=t.plain("Objections and repairs"),
        private=True,
        queue=queue,
        overdue=sum(q.overdue for q in queue),
        recent=recent,
        repairs=repairs,
        today=day,
    )


@router.get("/impact", openapi_extra=audited("web.regulator.impact"))
async def policy_impact(
    request: Request,
    pair: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    user = await require(request, Role.REGULATOR)
    t = translator(request)
    day = today()
    pairs = policy_pairs(load_policies(), day)
    chosen: PolicyPair | None = None
    if pairs:
        chosen = next((p for p in pairs if p.key == pair), None)
        if pair and chosen is None:
            raise WebError(404, "unknown_policy_pair")
        chosen = chosen or pairs[0]
    report: DiffReport | None = None
    figure = None
    if chosen is not None:
        state = request.app.state.web
        engine = request.app.state.engine
        selected = chosen
        report = await run_in_threadpool(impact, engine, selected, day, state.impact_cache)
        before, after = report.grade_counts()
        figure = charts.rows(
            list(report.grades),
            [
                charts.Series(selected.current.ref, [before[g] for g in report.grades]),
                charts.Series(selected.draft.ref, [after[g] for g in report.grades]),
            ],
            charts.Labels(
                title=t.plain("Subjects per grade, policy in force and draft"),
                description=t.plain(
                    "Two bars per grade: the subjects holding it under the policy in force "
                    "and under the draft."
                ),
                table=t.plain("Data table"),
                category=t.plain("Grade"),
            ),
            grouped=True,
        )
        note(request, old=selected.current.ref, new=selected.draft.ref, movers=len(report.movers))
        auditor: Auditor = request.app.state.auditor
        await auditor.record_async(request, user.principal, "ok")
    return render(
        request,
        "regulator/impact.html",
        title=t.plain("Impact of a draft policy"),
        private=True,
        pairs=pairs,
        chosen=chosen,
        report=report,
        figure=figure,
        today=day,
    )


@router.get("/feeds")
async def feeds(request: Request) -> Response:
    await require(request, Role.REGULATOR)
    t = translator(request)
    engine = request.app.state.engine

    def read() -> list[FeedHealth]:
        with engine.connect() as conn:
            return feed_health(conn)

    rows = await run_in_threadpool(read)
    figure = None
    if rows:
        figure = charts.rows(
            [r.provider for r in rows],
            [
                charts.Series(t.plain("accepted"), [r.accepted for r in rows], "#007A5A"),
                charts.Series(t.plain("duplicates"), [r.duplicates for r in rows], "#4B4B9B"),
                charts.Series(t.plain("rejected"), [r.rejected for r in rows], "#8B0000"),
            ],
            charts.Labels(
                title=t.plain("Feed rows per provider"),
                description=t.plain(
                    "One bar per provider, divided into rows accepted, duplicated and rejected."
                ),
                table=t.plain("Data table"),
                category=t.plain("Provider"),
                total=t.plain("Total"),
            ),
        )
    return render(
        request,
        "regulator/feeds.html",
        title=t.plain("Feed health"),
        private=True,
        rows=rows,
        figure=figure,
    )
