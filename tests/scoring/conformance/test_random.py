"""Random populations under the shipped policies: every executor gives exactly the rows of
the in-process reference (score, grade, policy, reasons and contributions, byte for byte).

The strategies concentrate on what makes scoring interesting: few record types per
population (so repeats and category caps happen), dates around the display windows and
the query bar, amounts on band edges, status events with tied timestamps, professions
registered either side of the as-of date, and provider ids that need JSON escaping.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socialcredit.policy import ResolvedPolicy, load_policies
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.executors import PopulationExecutor

from .conftest import REFERENCE, VARIANTS, load_executor
from .facts import (
    Facts,
    Profession,
    Record,
    StatusEvent,
    Subject,
    midnight,
    run_executor,
    score_and_list,
)

RECORD_TYPES = sorted(spec.code for spec in default_catalogue().record_types)
# Types with repeats, amount bands, grade caps, profession rules or a capped category:
# drawn more often than their share of the catalogue.
INTERESTING_TYPES = [
    "traffic.speeding",
    "traffic.red_light",
    "tax.late_filing",
    "debt.loan_arrears",
    "tax.arrears",
    "tax.evasion",
    "medical.kickbacks",
    "traffic.drunk_driving",
    "court.dishonest_debtor",
    "fraud.insurance",
    "commendation.heroic_act",
    # Black-list criteria of the shipped policies, and a second commendation for the red.
    "court.consumption_restriction",
    "fraud.contract",
    "market.food_safety",
    "tax.invoice_fraud",
    "commendation.blood_donation",
]
PROVINCES = ["31", "32", "33", "34", "11"]
STATUSES = ["active", "annulled", "corrected", "repaired", "expired"]
PROFESSIONS = ["doctor", "public_servant", "teacher"]
# Edges of the shipped amount bands (fen), and a few ordinary amounts.
AMOUNTS = [
    0,
    1,
    999_999,
    1_000_000,
    9_999_999,
    10_000_000,
    99_999_999,
    100_000_000,
    999_999_999,
    1_000_000_000,
    12_345_600,
]
# Escaping matters only in provider ids: quotes, backslashes, control characters, Chinese.
ID_ALPHABET = st.sampled_from(list('AZ09-_:"\\/\n\t\x00\x0b\x1f\x7f 沪苏浙皖罚单€😀'))
# Dates around policy changes (Shanghai 2027.1, rollout steps) and month ends.
AS_OF_DATES = [
    dt.date(2026, 4, 1),
    dt.date(2026, 6, 30),
    dt.date(2026, 7, 1),
    dt.date(2026, 10, 1),
    dt.date(2026, 12, 31),
    dt.date(2027, 1, 1),
    dt.date(2027, 2, 28),
    dt.date(2027, 7, 31),
    dt.date(2028, 2, 29),
]


@pytest.fixture
def candidate(executor_name: str) -> PopulationExecutor:
    """The executor under test, when it is not the reference itself."""
    if executor_name == REFERENCE:
        pytest.skip("the reference executor is what the others are compared with")
    return load_executor(executor_name)


@pytest.fixture(scope="module")
def reference() -> PopulationExecutor:
    return load_executor(REFERENCE)


@st.composite
def populations(draw: st.DrawFn) -> tuple[dt.date, Facts]:
    as_of = draw(
        st.one_of(
            st.sampled_from(AS_OF_DATES),
            st.dates(min_value=dt.date(2026, 4, 1), max_value=dt.date(2028, 12, 31)),
        )
    )
    # Few subjects for many records: repeats and category caps need records to pile up.
    n_subjects = draw(st.integers(1, 12))
    subjects = [
        Subject(
            i + 1,
            province_code=draw(st.sampled_from(PROVINCES)),
            # Around the 18th birthday (minors are never listed), leap days included.
            birth_date=draw(
                st.one_of(
                    st.none(),
                    st.dates(
                        min_value=as_of - dt.timedelta(days=365 * 19 + 5),
                        max_value=as_of - dt.timedelta(days=365 * 17),
                    ),
                    st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2000, 12, 31)),
                )
            ),
        )
        for i in range(n_subjects)
    ]
    types = draw(
        st.lists(
            st.one_of(st.sampled_from(INTERESTING_TYPES), st.sampled_from(RECORD_TYPES)),
            min_size=1,
            max_size=6,
            unique=True,
        )
    )
    n_records = draw(st.integers(0, 80))
    # Record ids in an order unrelated to the decision dates, so ties are broken by id.
    ids = draw(st.permutations(range(1, n_records + 1)))
    records = []
    for record_id in ids:
        # Mostly recent (inside the 3- and 12-month windows), some up to the 36-month ones.
        age = draw(st.one_of(st.integers(-15, 120), st.integers(-15, 1150)))
        decided_on = as_of - dt.timedelta(days=age)
        ended = draw(st.one_of(st.none(), st.integers(0, 2200)))
        late = draw(st.integers(0, 40))
        records.append(
            Record(
                record_id=record_id,
                subject_id=draw(st.integers(1, n_subjects)),
                record_type=draw(st.sampled_from(types)),
                decided_on=decided_on,
                recorded_at=midnight(decided_on)
                + dt.timedelta(days=late, seconds=draw(st.sampled_from([0, 1, 43_200, 86_399]))),
                conduct_ended_on=None if ended is None else decided_on - dt.timedelta(days=ended),
                amount_fen=draw(
                    st.one_of(st.none(), st.sampled_from(AMOUNTS), st.integers(0, 2_000_000_000))
                ),
                provider_id=draw(st.integers(1, 3)),
                provider_record_id=draw(st.text(ID_ALPHABET, min_size=1, max_size=6)),
            )
        )
    events = []
    if records:
        n_events = draw(st.integers(0, 40))
        for event_id in draw(st.permutations(range(1, n_events + 1))):
            # Whole days around the as-of date: tied timestamps are common.
            day = as_of + dt.timedelta(days=draw(st.integers(-60, 3)))
            events.append(
                StatusEvent(
                    event_id=event_id,
                    record_id=draw(st.sampled_from(records)).record_id,
                    status=draw(st.sampled_from(STATUSES)),
                    recorded_at=midnight(day),
                )
            )
    professions = [
        Profession(
            subject_id=draw(st.integers(1, n_subjects)),
            profession=draw(st.sampled_from(PROFESSIONS)),
            registered_at=midnight(as_of + dt.timedelta(days=draw(st.integers(-400, 2)))),
        )
        for _ in range(draw(st.integers(0, 10)))
    ]
    return as_of, Facts(subjects, records, events, professions)


def assert_same_rows(
    got: dict[int, dict[str, Any]], expected: dict[int, dict[str, Any]], engine: str
) -> None:
    assert got.keys() == expected.keys()
    for subject_id in sorted(expected):
        for field, want in expected[subject_id].items():
            have = got[subject_id][field]
            assert have == want, (
                f"subject {subject_id}, field {field}: {engine} gave {have!r}, "
                f"{REFERENCE} gave {want!r}"
            )


def compare(
    candidate: PopulationExecutor,
    reference: PopulationExecutor,
    facts: Facts,
    as_of: dt.date,
    policies: tuple[ResolvedPolicy, ...],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        want, want_lists = score_and_list(
            reference, Path(tmp, "ref"), facts, as_of=as_of, policies=policies
        )
        got, got_lists = score_and_list(
            candidate, Path(tmp, "got"), facts, as_of=as_of, policies=policies
        )
    assert_same_rows(got, want, candidate.name)
    assert got_lists == want_lists, f"{candidate.name} list memberships differ"


@pytest.fixture
def searched(executor_name: str, candidate: PopulationExecutor) -> PopulationExecutor:
    if executor_name in VARIANTS:
        pytest.skip("a variant of an engine the search already covers")
    return candidate


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(population=populations())
def test_random_populations_agree_with_the_reference(
    searched: PopulationExecutor,
    reference: PopulationExecutor,
    population: tuple[dt.date, Facts],
) -> None:
    as_of, facts = population
    compare(searched, reference, facts, as_of, load_policies())


def larger_population(as_of: dt.date) -> Facts:
    """A few hundred subjects with every record type: breadth the small examples lack."""
    rng = random.Random(20260401)
    subjects = [
        Subject(
            i,
            province_code=rng.choice(PROVINCES),
            birth_date=rng.choice([None, as_of - dt.timedelta(days=rng.randint(6000, 25000))]),
        )
        for i in range(1, 401)
    ]
    records = []
    for record_id in rng.sample(range(1, 100_000), 5_000):
        decided_on = as_of - dt.timedelta(days=rng.randint(-10, 1100))
        records.append(
            Record(
                record_id=record_id,
                subject_id=rng.randint(1, 360),
                record_type=rng.choice(RECORD_TYPES),
                decided_on=decided_on,
                recorded_at=midnight(decided_on) + dt.timedelta(days=rng.randint(0, 30)),
                conduct_ended_on=rng.choice(
                    [None, decided_on - dt.timedelta(days=rng.randint(0, 2000))]
                ),
                amount_fen=rng.choice([None, rng.choice(AMOUNTS), rng.randint(0, 10**9)]),
                provider_id=rng.randint(1, 5),
                provider_record_id=f"文书{record_id}",
            )
        )
    # Subjects 361-400 are commended, a few with one negative record in or out of the
    # red list's clean period: once commendations count (2027), some reach the red list.
    positive = [t for t in RECORD_TYPES if t.startswith("commendation.")]
    next_id = 100_000
    for subject_id in range(361, 401):
        for _ in range(rng.randint(1, 4)):
            next_id += 1
            decided_on = as_of - dt.timedelta(days=rng.randint(0, 700))
            records.append(Record(next_id, subject_id, rng.choice(positive), decided_on))
        if subject_id % 4 == 0:
            next_id += 1
            decided_on = as_of - dt.timedelta(days=rng.randint(300, 1500))
            records.append(Record(next_id, subject_id, rng.choice(RECORD_TYPES), decided_on))
    events = [
        StatusEvent(
            e,
            rng.choice(records).record_id,
            rng.choice(STATUSES),
            midnight(as_of + dt.timedelta(days=rng.randint(-200, 5))),
        )
        for e in range(1, 801)
    ]
    professions = [
        Profession(
            rng.randint(1, 400),
            rng.choice(PROFESSIONS),
            midnight(as_of + dt.timedelta(days=rng.randint(-500, 5))),
        )
        for _ in range(150)
    ]
    return Facts(subjects, records, events, professions)


@pytest.mark.parametrize("as_of", [dt.date(2026, 8, 15), dt.date(2027, 3, 31)])
def test_a_larger_random_population_agrees_with_the_reference(
    candidate: PopulationExecutor, reference: PopulationExecutor, as_of: dt.date
) -> None:
    compare(candidate, reference, larger_population(as_of), as_of, load_policies())


def assert_short_form_matches(
    executor: PopulationExecutor, facts: Facts, as_of: dt.date, policies: Sequence[ResolvedPolicy]
) -> None:
    """Without the full list an executor gives the same rows (reasons byte for byte), only
    ``contributions`` null: the short form is what stored population scores use."""
    with tempfile.TemporaryDirectory() as tmp:
        full = run_executor(executor, Path(tmp, "full"), facts, as_of=as_of, policies=policies)
        short = run_executor(
            executor,
            Path(tmp, "short"),
            facts,
            as_of=as_of,
            policies=policies,
            contributions=False,
        )
    assert short.keys() == full.keys()
    for subject_id, row in short.items():
        assert row["contributions"] is None, f"subject {subject_id}: contributions not null"
        want = full[subject_id] | {"contributions": None}
        assert row == want, f"subject {subject_id}: {executor.name} short form differs"


@pytest.mark.parametrize("as_of", [dt.date(2026, 8, 15), dt.date(2027, 3, 31)])
def test_without_contributions_only_the_list_is_left_out(
    executor: PopulationExecutor, as_of: dt.date
) -> None:
    assert_short_form_matches(executor, larger_population(as_of), as_of, load_policies())


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(population=populations())
def test_random_populations_without_contributions(
    executor_name: str, executor: PopulationExecutor, population: tuple[dt.date, Facts]
) -> None:
    if executor_name in VARIANTS:
        pytest.skip("a variant of an engine the search already covers")
    as_of, facts = population
    assert_short_form_matches(executor, facts, as_of, load_policies())
