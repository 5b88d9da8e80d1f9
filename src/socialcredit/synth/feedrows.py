"""Feed rows about synthetic subjects, including the malformed ones real feeds carry.

Dates stay ``datetime.date`` and amounts integer fen until a writer formats
them, so every format writes the same values.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, chain
from typing import NamedTuple

from socialcredit.identity.ids import ric_check_char, uscc_check_char
from socialcredit.records.catalogue import Catalogue
from socialcredit.synth.authorities import PROVINCE_ABBR, TELECOM, ProviderSpec
from socialcredit.synth.divisions import pick_province
from socialcredit.synth.mix import (
    AMOUNT_RANGES,
    HOSPITAL_MIX,
    ORG_MIX,
    PERSON_MIX,
    PROFESSION_MIX,
    UNKNOWN_TYPES,
    TypeMix,
)
from socialcredit.synth.names import person_name
from socialcredit.synth.population import Organisation, Person


class FeedRow(NamedTuple):
    """One feed row; the field order is the published column order."""

    provider_record_id: str
    subject_id: str | None
    subject_name: str | None
    record_type: str
    decision_ref: str | None
    decided_on: dt.date
    conduct_ended_on: dt.date | None
    amount_fen: int | None  # written as amount_cny
    account_provider: str | None
    account_id: str | None
    action: str


FEED_COLUMNS: tuple[str, ...] = (*FeedRow._fields[:7], "amount_cny", *FeedRow._fields[8:])
AMOUNT = FeedRow._fields.index("amount_fen")

MALFORMED_KINDS = (
    "bad_checksum",
    "unknown_subject",
    "future_date",
    "before_birth",
    "unknown_type",
    "negative_amount",
    "name_mismatch",
    "out_of_scope",
)
HISTORY_YEARS = 4
CROSS_PROVINCE_TRAFFIC = 0.10  # tickets written while driving in another province
BY_ACCOUNT = {"bank": 0.4, "fraud.telecom": 0.5}  # share of rows naming an account, not an ID
ANNUL_SHARE = 0.003
CORRECT_SHARE = 0.004
_RECENT = 64  # rows per feed an annulment or correction may refer back to
# Beijing codes: valid, but no pilot subject is registered there.
_OUTSIDE_DIVISIONS = ("110101", "110102", "110105", "110108")


@dataclass
class FeedStats:
    rows: int = 0
    actions: Counter[str] = field(default_factory=Counter)
    malformed: Counter[str] = field(default_factory=Counter)


@dataclass
class ProviderFeed:
    """A provider's feed while it is being generated: rows not yet written, and counts."""

    spec: ProviderSpec
    buffer: list[FeedRow] = field(default_factory=list)
    stats: FeedStats = field(default_factory=FeedStats)
    recent: deque[FeedRow] = field(default_factory=lambda: deque(maxlen=_RECENT))
    serial: int = 0

    def next_id(self) -> tuple[str, int]:
        self.serial += 1
        return f"{self.spec.code}-{self.serial:010d}", self.serial

    def add(self, row: FeedRow) -> None:
        self.buffer.append(row)
        self.stats.rows += 1
        self.stats.actions[row.action] += 1


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a common year
        return day.replace(year=day.year + years, day=28)


def poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means of records per subject.
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def decision_ref(spec: ProviderSpec, code: str, day: dt.date, serial: int, division: str) -> str:
    """A decision document number in the style each kind of authority uses."""
    a = PROVINCE_ABBR.get(spec.province or "", "")
    y = day.year
    n = serial % 1_000_000
    match spec.kind:
        case "traffic_police":
            return f"{a}公交决字〔{y}〕第{n:06d}号"
        case "tax_bureau":
            word = {"tax.late_filing": "税简罚", "commendation.tax_a_grade": "税信评"}
            return f"{a}{word.get(code, '税稽罚')}〔{y}〕{n}号"
        case "court":
            # Case numbers name the basic-level court by its 4-digit code (e.g. 苏0583).
            word = {
                "debt.contract_default": "民初",
                "fraud.contract": "刑初",
                "fraud.telecom": "刑初",
            }
            return f"（{y}）{a}{division[2:6]}{word.get(code, '执')}{n}号"
        case "market_regulator":
            return f"{a}市监罚〔{y}〕{n}号"
        case "health_regulator":
            if code == "commendation.blood_donation":
                return f"{a}献血证字第{y}{n:07d}号"
            return f"{a}{'医保罚' if code == 'fraud.insurance' else '卫医罚'}〔{y}〕{n}号"
        case "civil_service_bureau":
            return f"{a}公务员处〔{y}〕{n}号"
        case "civil_affairs":
            return f"{a}民表〔{y}〕{n}号"
        case "bank":
            return f"{spec.name[:2]}银催字〔{y}〕第{n:06d}号"
        case _:
            return f"{spec.code}〔{y}〕{n}号"


class RowFactory:
    """Generates every row about one subject and hands each to its provider's feed."""

    def __init__(
        self,
        rng: random.Random,
        *,
        today: dt.date,
        providers: list[ProviderSpec],
        catalogue: Catalogue,
        records_per_subject: float,
        malformed_share: float,
    ) -> None:
        self.rng = rng
        self.today = today
        self.window_start = add_years(today, -HISTORY_YEARS)
        self.mean = records_per_subject
        self.malformed_share = malformed_share
        self.feeds = {p.name: ProviderFeed(p) for p in providers if p.fmt is not None}
        self._feed_of = {
            (f.spec.kind, f.spec.province): f for f in self.feeds.values() if f.spec.province
        }
        specs = catalogue.by_code()
        self.kind_of = {code: spec.issuing_body_kind for code, spec in specs.items()}
        self.amount_relevant = {c for c, s in specs.items() if s.amount_relevant}
        self._plain_types_by_kind: dict[str, list[str]] = {}
        for code, spec in specs.items():
            if spec.profession is None and not spec.amount_relevant:
                self._plain_types_by_kind.setdefault(spec.issuing_body_kind, []).append(code)
        known = set(specs)
        every_mix = chain(PERSON_MIX, ORG_MIX, HOSPITAL_MIX, *PROFESSION_MIX.values())
        for mix in every_mix:
            if mix.code not in known:
                raise ValueError(f"record mix names {mix.code}, which is not in the catalogue")

    # --- subjects -----------------------------------------------------------------

    def person_rows(self, person: Person) -> None:
        age = min(person.age_on(self.today), 120)
        mixes, weights = _person_mix(age, person.profession)
        if not mixes:
            return
        for _ in range(poisson(self.rng, self.mean)):
            mix = self.rng.choices(mixes, cum_weights=weights)[0]
            earliest = max(self.window_start, add_years(person.birth_date, mix.min_age))
            self._row(
                mix,
                person.id_number,
                person.name,
                person.division,
                person.province,
                earliest,
                person=person,
            )

    def org_rows(self, org: Organisation) -> None:
        mixes, weights = _org_mix(org.kind == "hospital")
        for _ in range(poisson(self.rng, self.mean)):
            mix = self.rng.choices(mixes, cum_weights=weights)[0]
            self._row(mix, org.code, org.name, org.division, org.province, self.window_start)

    # --- one row ------------------------------------------------------------------

    def _row(
        self,
        mix: TypeMix,
        subject_id: str,
        name: str,
        division: str,
        province: str,
        earliest: dt.date,
        *,
        person: Person | None = None,
    ) -> None:
        rng, code = self.rng, mix.code
        kind = self.kind_of[code]
        if kind == "traffic_police" and rng.random() < CROSS_PROVINCE_TRAFFIC:
            province = pick_province(rng)
        feed = self._feed_of[(kind, province)]
        span = (self.today - earliest).days
        decided = earliest + dt.timedelta(days=rng.randrange(span + 1)) if span > 0 else earliest
        ended: dt.date | None
        if mix.ongoing:
            # Most debts are still unpaid; a paid one ended some months after the decision.
            paid = decided + dt.timedelta(days=rng.randint(10, 400))
            ended = paid if rng.random() < 0.4 and paid <= self.today else None
        else:
            lag = 15 if kind == "traffic_police" else 180
            ended = max(earliest, decided - dt.timedelta(days=rng.randint(0, lag)))
        amount = None
        if code in self.amount_relevant:
            lo, hi = AMOUNT_RANGES.get(code, (100, 100_000))
            amount = round(math.exp(rng.uniform(math.log(lo), math.log(hi))) * 100)
        account_provider = account_id = None
        if person is not None:
            via = TELECOM if code == "fraud.telecom" else feed.spec.name
            share = BY_ACCOUNT.get(code, BY_ACCOUNT.get(kind, 0.0))
            account = person.account_of(via) if share else None
            if account is not None and rng.random() < share:
                account_provider, account_id = via, account
        prid, serial = feed.next_id()
        ref = decision_ref(feed.spec, code, decided, serial, division)
        row = FeedRow(
            prid,
            None if account_id else subject_id,
            name,
            code,
            ref,
            decided,
            ended,
            amount,
            account_provider,
            account_id,
            "record",
        )
        if rng.random() < self.malformed_share:
            row, what = self._corrupt(row, feed, person)
            feed.stats.malformed[what] += 1
            feed.add(row)
            return
        feed.add(row)
        feed.recent.append(row)
        draw = rng.random()
        if draw < ANNUL_SHARE + CORRECT_SHARE and len(feed.recent) > 1:
            # Refer back to an earlier row, never to the one just written.
            earlier = feed.recent[rng.randrange(len(feed.recent) - 1)]
            feed.recent.remove(earlier)
            if draw < ANNUL_SHARE:
                feed.add(earlier._replace(action="annul"))
            else:
                feed.add(self._corrected(earlier))

    def _corrected(self, row: FeedRow) -> FeedRow:
        if row.amount_fen is not None:
            amount = max(100, round(row.amount_fen * self.rng.uniform(0.5, 0.95)))
            return row._replace(amount_fen=amount, action="correct")
        # A clerical error in the decision number is the commonest correction.
        return row._replace(decision_ref=f"{row.decision_ref}（更正）", action="correct")

    def _corrupt(
        self, row: FeedRow, feed: ProviderFeed, person: Person | None
    ) -> tuple[FeedRow, str]:
        """One realistic defect, named by its kind; the rest of the row stays valid."""
        rng = self.rng
        kinds = [
            k
            for k in MALFORMED_KINDS
            if (k != "before_birth" or person is not None)
            and (k != "negative_amount" or row.amount_fen is not None)
        ]
        what = rng.choice(kinds)
        subject = row.subject_id or (person.id_number if person else None)
        if what == "bad_checksum" and subject is not None:
            wrong = rng.choice([c for c in "0123456789" if c != subject[17]])
            row = row._replace(
                subject_id=subject[:17] + wrong, account_provider=None, account_id=None
            )
        elif what == "unknown_subject":
            row = row._replace(
                subject_id=_outside_subject(rng, org=person is None, today=self.today),
                subject_name=person_name(rng),
                account_provider=None,
                account_id=None,
            )
        elif what == "future_date":
            future = self.today + dt.timedelta(days=rng.randint(1, 180))
            row = row._replace(decided_on=future, conduct_ended_on=None)
        elif what == "before_birth" and person is not None:
            early = person.birth_date - dt.timedelta(days=rng.randint(1, 3650))
            row = row._replace(decided_on=early, conduct_ended_on=None)
        elif what == "unknown_type":
            row = row._replace(record_type=rng.choice(UNKNOWN_TYPES))
        elif what == "negative_amount" and row.amount_fen is not None:
            row = row._replace(amount_fen=-row.amount_fen)
        elif what == "name_mismatch":
            while (other := person_name(rng)) == row.subject_name:
                pass
            row = row._replace(subject_name=other)
        elif what == "out_of_scope":
            other_type = rng.choice(self._other_types(feed.spec.kind))
            row = row._replace(record_type=other_type, amount_fen=None)
        return row, what

    def _other_types(self, kind: str) -> list[str]:
        return [t for k, types in self._plain_types_by_kind.items() if k != kind for t in types]


def _outside_subject(rng: random.Random, *, org: bool, today: dt.date) -> str:
    division = rng.choice(_OUTSIDE_DIVISIONS)
    if org:
        first17 = "91" + division + "".join(rng.choice("0123456789ABCDEFGH") for _ in range(9))
        return first17 + uscc_check_char(first17)
    birth = today - dt.timedelta(days=rng.randint(20 * 365, 60 * 365))
    first17 = f"{division}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return first17 + ric_check_char(first17)


@lru_cache(maxsize=512)
def _person_mix(age: int, profession: str | None) -> tuple[tuple[TypeMix, ...], tuple[float, ...]]:
    extra = PROFESSION_MIX.get(profession, ()) if profession else ()
    mixes = tuple(m for m in (*PERSON_MIX, *extra) if m.min_age <= age <= m.max_age)
    return mixes, _cumulative(mixes)


@lru_cache(maxsize=2)
def _org_mix(hospital: bool) -> tuple[tuple[TypeMix, ...], tuple[float, ...]]:
    mixes = (*ORG_MIX, *HOSPITAL_MIX) if hospital else ORG_MIX
    return mixes, _cumulative(mixes)


def _cumulative(mixes: tuple[TypeMix, ...]) -> tuple[float, ...]:
    return tuple(accumulate(m.weight for m in mixes))
