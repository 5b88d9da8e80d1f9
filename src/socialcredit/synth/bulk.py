"""A scoring snapshot of a whole synthetic population, generated set-wise at pilot scale.

``synth.generator`` writes provider feeds (names, ID numbers, defects) for ingestion to
chew on, one Python object per row; at 10M subjects / 100M records that takes hours. A
snapshot holds no personal identifiers, so this generator draws only what scoring reads,
every column as one numpy array per chunk of subjects, and writes it straight into the
layout the population executors read (``scoring.snapshot_schema.TABLES``)::

    DIR/manifest.json                                   parameters, rows, partitions, files
    DIR/subjects/province=31/part-00000.parquet         hive-partitioned by province
    DIR/records/province=31/part-00000.parquet          (the subject's province)
    DIR/status_events/province=31/part-00000.parquet
    DIR/professions/province=31/part-00000.parquet

One part per table, province and chunk of ``CHUNK_SUBJECTS`` subjects: memory holds one
chunk however large the population (peak RSS about 1 GiB with 250,000 subjects and 2.5M
records per chunk, measured at 10M subjects), and the same seed, sizes and as-of date
give the same files, chunk by chunk.

What makes it realistic, and where the numbers come from:

- provinces in proportion to residents (``divisions.PROVINCE_POPULATION_M``), a county
  (hence city) of the province, the 2020 census age pyramid (``population.AGE_BANDS``);
  ``ORG_SHARE`` of subjects are organisations, a few of them hospitals;
- about ``PROFESSION_SHARE`` of persons (all of working age) are doctors or public
  servants, registered once the profession registry opened (``data/professions.yaml``);
- records per subject follow a gamma-Poisson (negative binomial) law: most subjects have
  a handful or none, a tail has hundreds (capped at ``MAX_RECORDS``). Children under 14
  have none and teenagers few; the mean over everyone is ``records_per_subject``;
- record types follow the same mixes as the feed generator (``synth.mix``: traffic and
  tax dominate, serious wrongdoing is rare, some records are positive), per subject
  group (teenager, adult, senior, doctor, public servant, enterprise, hospital);
- decisions spread evenly over the ``HISTORY_YEARS`` before the as-of date (never before
  the age a type needs), debts often still unpaid (no ``conduct_ended_on``), amounts
  log-uniform per type (``mix.AMOUNT_RANGES``), recorded a few hours to days after the
  decision and ``LATE_SHARE`` of them months late;
- about 1% of records are annulled, corrected (a version 2 row supersedes version 1) or
  repaired through status events; a few annulments are later withdrawn.

Rows recorded after the as-of date (late records near it, later status events) are kept:
the snapshot stands for a store exported some time after the as-of date, and the scoring
contract's "what the system knew" rule must drop them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialcredit.identity.registry import professions as profession_registry
from socialcredit.records.catalogue import default_catalogue
from socialcredit.scoring.snapshot import MANIFEST, partition_name, write_manifest
from socialcredit.scoring.snapshot_schema import TABLES
from socialcredit.synth.authorities import pilot_providers
from socialcredit.synth.divisions import PROVINCE_POPULATION_M, yrd_divisions
from socialcredit.synth.mix import (
    AMOUNT_RANGES,
    HOSPITAL_MIX,
    ORG_MIX,
    PERSON_MIX,
    PROFESSION_MIX,
    TypeMix,
)
from socialcredit.synth.population import AGE_BANDS, PROFESSION_AGES, PROFESSION_SHARES

# Part of what a seed means (each chunk has its own random stream), so not a parameter.
CHUNK_SUBJECTS = 250_000
# Bump when the same parameters would give other data, or another manifest: 2 lists every
# partition and file, so that a snapshot missing one is refused before scoring.
FORMAT_VERSION = 2

HISTORY_YEARS = 4
ORG_SHARE = 0.05
HOSPITAL_SHARE = 0.06  # of organisations: 3 in 50, as population.org_kind assigns them
PROFESSION_SHARE = 0.03  # of all persons; drawn among those of working age
# Records per subject: gamma-Poisson with this shape. 0.5 puts ~20% of adults at zero,
# the median near 5 and, at 10M subjects, a few hundred subjects above 200 records.
DISPERSION = 0.5
MAX_RECORDS = 400
# Expected activity relative to an adult: children under 14 have no records.
TEEN_ACTIVITY = 0.2  # 14-17
TEEN_AGE, ADULT_AGE, SENIOR_AGE = 14, 18, 61
LATE_SHARE = 0.02
LATE_DAYS = (30, 400)
CROSS_PROVINCE_TRAFFIC = 0.10  # tickets written while driving in another province
ANNUL_SHARE = 0.005
CORRECT_SHARE = 0.004
REPAIR_SHARE = 0.001
REINSTATE_SHARE = 0.05  # of annulments, withdrawn later: the record is active again
# Traffic police rarely say when the conduct ended: the decision date stands in.
TRAFFIC_NO_END_SHARE = 0.5

PROVINCES: tuple[str, ...] = tuple(PROVINCE_POPULATION_M)
_EPOCH = dt.date(1970, 1, 1)
_US_PER_DAY = 86_400_000_000
_STATUSES = ("corrected", "annulled", "active", "repaired")

Progress = Callable[[int, int], None]  # (subjects written so far, subjects in all)
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def _day(day: dt.date) -> int:
    return (day - _EPOCH).days


def _share_aged(lo: int, hi: int) -> float:
    """Share of persons aged ``lo``..``hi`` (whole years), ages uniform within a band."""
    total = sum(share for _a, _b, share in AGE_BANDS)
    inside = 0.0
    for a, b, share in AGE_BANDS:
        overlap = min(b, hi) - max(a, lo) + 1
        if overlap > 0:
            inside += share * overlap / (b - a + 1)
    return inside / total


class _Types:
    """The catalogue as arrays indexed by type number, plus one weight vector per group."""

    # Subject groups; each draws its record types from its own mix.
    GROUPS = ("teen", "adult", "senior", "doctor", "public_servant", "enterprise", "hospital")

    def __init__(self) -> None:
        specs = default_catalogue().record_types
        self.codes = [s.code for s in specs]
        index = {code: i for i, code in enumerate(self.codes)}
        every_mix = [
            *PERSON_MIX,
            *ORG_MIX,
            *HOSPITAL_MIX,
            *(m for v in PROFESSION_MIX.values() for m in v),
        ]
        unknown = sorted({m.code for m in every_mix} - index.keys())
        if unknown:
            raise ValueError(f"record mixes name types not in the catalogue: {unknown}")
        n = len(specs)
        self.min_age = np.full(n, ADULT_AGE, dtype=np.int64)
        for m in PERSON_MIX:
            self.min_age[index[m.code]] = m.min_age
        self.ongoing = np.zeros(n, dtype=np.bool_)
        for m in every_mix:
            self.ongoing[index[m.code]] |= m.ongoing
        self.traffic = np.array([s.issuing_body_kind == "traffic_police" for s in specs])
        self.negative = np.array([s.polarity == "negative" for s in specs])
        self.amount = np.array([s.amount_relevant for s in specs])
        bounds = [AMOUNT_RANGES.get(s.code, (100, 100_000)) for s in specs]
        self.log_lo = np.log(np.array([b[0] for b in bounds], dtype=np.float64))
        self.log_hi = np.log(np.array([b[1] for b in bounds], dtype=np.float64))
        kinds = sorted({s.issuing_body_kind for s in specs})
        self.kind = np.array([kinds.index(s.issuing_body_kind) for s in specs], dtype=np.int64)

        # Provider ids as the store would number them: 1.. in pilot_providers() order.
        providers = pilot_providers()
        self.provider_codes = [p.code for p in providers]
        self.provider_of = np.full((len(kinds), len(PROVINCES)), -1, dtype=np.int64)
        for i, p in enumerate(providers):
            if p.kind in kinds and p.province in PROVINCES and p.record_types:
                self.provider_of[kinds.index(p.kind), PROVINCES.index(p.province)] = i
        if (self.provider_of < 0).any():
            raise ValueError("every issuing body kind needs a provider in every province")

        def weights(mixes: Sequence[TypeMix]) -> FloatArray:
            w = np.zeros(n, dtype=np.float64)
            for m in mixes:
                w[index[m.code]] += m.weight
            return np.cumsum(w)

        adult = [m for m in PERSON_MIX if m.min_age < SENIOR_AGE]
        self.cumulative = [
            weights([m for m in PERSON_MIX if m.min_age < ADULT_AGE]),
            weights(adult),
            weights([m for m in PERSON_MIX if m.max_age >= SENIOR_AGE]),
            weights([*adult, *PROFESSION_MIX["doctor"]]),
            weights([*adult, *PROFESSION_MIX["public_servant"]]),
            weights(ORG_MIX),
            weights([*ORG_MIX, *HOSPITAL_MIX]),
        ]

    def draw(self, rng: np.random.Generator, group: IntArray) -> IntArray:
        """One record type per entry of ``group`` (a group number per record)."""
        u = rng.random(len(group))
        out = np.empty(len(group), dtype=np.int64)
        for g, cum in enumerate(self.cumulative):
            mask = group == g
            # side="right": a type of weight 0 repeats its predecessor's bound, never wins.
            out[mask] = np.searchsorted(cum, u[mask] * cum[-1], side="right")
        return out


@dataclass(frozen=True)
class _Places:
    """County-level division codes of every province, flattened, with per-province spans."""

    cities: pa.Array  # the 4-digit city code of each county
    offset: IntArray  # first county of each province
    count: IntArray  # counties of each province

    @classmethod
    def valid_in(cls, year: int) -> _Places:
        divisions = yrd_divisions()
        cities: list[str] = []
        offset, count = [], []
        for p in PROVINCES:
            codes = sorted({d.code for d in divisions[p] if d.valid_in(year)})
            offset.append(len(cities))
            count.append(len(codes))
            cities.extend(c[:4] for c in codes)
        return cls(pa.array(cities), np.array(offset), np.array(count))


@dataclass(frozen=True)
class _Plan:
    """Everything fixed by the parameters, shared by all chunks."""

    as_of: int  # day number
    window_start: int
    types: _Types
    places: _Places
    province_p: FloatArray
    age_p: FloatArray
    age_lo_days: IntArray
    age_hi_days: IntArray
    mean_activity: float
    records_per_subject: float
    profession_given_eligible: float
    doctor_share: float  # of professionals
    professions_open: dict[str, int]  # profession -> first day it can be registered


def _plan(as_of: dt.date, records_per_subject: float) -> _Plan:
    weights = np.array([PROVINCE_POPULATION_M[p] for p in PROVINCES], dtype=np.float64)
    age_w = np.array([share for _lo, _hi, share in AGE_BANDS], dtype=np.float64)
    teen = _share_aged(TEEN_AGE, ADULT_AGE - 1)
    adults = _share_aged(ADULT_AGE, 200)
    eligible = _share_aged(*PROFESSION_AGES)
    shares = dict(PROFESSION_SHARES)
    opened = profession_registry()
    try:
        window_start = as_of.replace(year=as_of.year - HISTORY_YEARS)
    except ValueError:  # 29 February
        window_start = as_of.replace(year=as_of.year - HISTORY_YEARS, day=28)
    return _Plan(
        as_of=_day(as_of),
        window_start=_day(window_start),
        types=_Types(),
        places=_Places.valid_in(as_of.year),
        province_p=weights / weights.sum(),
        age_p=age_w / age_w.sum(),
        # Ages in days, as PopulationFactory.birth_date draws them.
        age_lo_days=np.array([int(lo * 365.25) + 1 for lo, _hi, _s in AGE_BANDS]),
        age_hi_days=np.array([int((hi + 1) * 365.25) - 1 for _lo, hi, _s in AGE_BANDS]),
        mean_activity=ORG_SHARE + (1 - ORG_SHARE) * (adults + TEEN_ACTIVITY * teen),
        records_per_subject=records_per_subject,
        profession_given_eligible=min(1.0, PROFESSION_SHARE / eligible),
        doctor_share=shares["doctor"] / (shares["doctor"] + shares["public_servant"]),
        professions_open={k: _day(v) for k, v in opened.items()},
    )


def _uniform_int(
    rng: np.random.Generator, lo: IntArray | int, hi: IntArray | int, n: int
) -> IntArray:
    """Integers in [lo, hi] (inclusive, elementwise); lo > hi gives lo."""
    low = np.asarray(lo, dtype=np.int64)
    span = np.maximum(np.asarray(hi, dtype=np.int64) - low + 1, 1)
    out: IntArray = low + np.floor(rng.random(n) * span).astype(np.int64)
    return out


def _take(values: Sequence[str] | pa.Array, index: IntArray) -> pa.Array:
    source = values if isinstance(values, pa.Array) else pa.array(list(values), pa.string())
    return source.take(pa.array(index))


def _dates(days: IntArray, valid: BoolArray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(days.astype(np.int32), mask=mask).cast(pa.date32())


def _stamps(us: IntArray) -> pa.Array:
    return pa.array(us).cast(pa.timestamp("us"))


@dataclass
class _Chunk:
    tables: dict[str, tuple[pa.Table, IntArray]]  # table -> (rows, province index per row)


def _chunk(
    plan: _Plan,
    rng: np.random.Generator,
    first_subject: int,
    n: int,
    first_record: int,
    first_event: int,
) -> _Chunk:
    types = plan.types

    # --- subjects ------------------------------------------------------------------
    subject_id = first_subject + np.arange(n, dtype=np.int64)
    org = rng.random(n) < ORG_SHARE
    province = rng.choice(len(PROVINCES), size=n, p=plan.province_p)
    county = plan.places.offset[province] + np.floor(
        rng.random(n) * plan.places.count[province]
    ).astype(np.int64)
    band = rng.choice(len(AGE_BANDS), size=n, p=plan.age_p)
    age_days = _uniform_int(rng, plan.age_lo_days[band], plan.age_hi_days[band], n)
    birth = plan.as_of - age_days
    age = np.floor(age_days / 365.25).astype(np.int64)
    hospital = org & (rng.random(n) < HOSPITAL_SHARE)
    eligible = ~org & (age >= PROFESSION_AGES[0]) & (age <= PROFESSION_AGES[1])
    professional = eligible & (rng.random(n) < plan.profession_given_eligible)
    doctor = professional & (rng.random(n) < plan.doctor_share)
    servant = professional & ~doctor

    group = np.select(
        [hospital, org, doctor, servant, age >= SENIOR_AGE, age >= ADULT_AGE, age >= TEEN_AGE],
        [6, 5, 3, 4, 2, 1, 0],
        default=-1,  # children: no records
    ).astype(np.int64)
    activity = np.select([group >= 1, group == 0], [1.0, TEEN_ACTIVITY], default=0.0)
    mean = plan.records_per_subject * activity / plan.mean_activity
    # Gamma-Poisson: a subject's own rate varies widely, its count around that rate.
    rate = rng.gamma(DISPERSION, 1.0, size=n) * mean / DISPERSION
    counts = np.minimum(rng.poisson(rate), MAX_RECORDS).astype(np.int64)

    subjects = pa.Table.from_arrays(
        [
            pa.array(subject_id),
            _take(("person", "organisation"), org.astype(np.int64)),
            _take(PROVINCES, province),
            plan.places.cities.take(pa.array(county)),
            _dates(birth, ~org),
        ],
        schema=TABLES["subjects"],
    )

    # --- professions ---------------------------------------------------------------
    pro = np.nonzero(professional)[0]
    opened = np.where(
        doctor[pro], plan.professions_open["doctor"], plan.professions_open["public_servant"]
    )
    registered_day = _uniform_int(rng, opened, np.maximum(opened, plan.as_of), len(pro))
    registered = (
        registered_day * _US_PER_DAY + _uniform_int(rng, 8 * 3600, 18 * 3600, len(pro)) * 1_000_000
    )
    professions = pa.Table.from_arrays(
        [
            pa.array(subject_id[pro]),
            _take(("public_servant", "doctor"), doctor[pro].astype(np.int64)),
            _stamps(registered),
        ],
        schema=TABLES["professions"],
    )

    # --- records -------------------------------------------------------------------
    total = int(counts.sum())
    owner = np.repeat(np.arange(n, dtype=np.int64), counts)
    record_id = first_record + np.arange(total, dtype=np.int64)
    rtype = types.draw(rng, group[owner])
    person = ~org[owner]
    earliest = np.full(total, plan.window_start, dtype=np.int64)
    of_age = birth[owner] + np.ceil(types.min_age[rtype] * 365.25).astype(np.int64)
    earliest = np.minimum(np.where(person, np.maximum(earliest, of_age), earliest), plan.as_of)
    decided = _uniform_int(rng, earliest, plan.as_of, total)

    ongoing = types.ongoing[rtype]
    traffic = types.traffic[rtype]
    # Most debts are still unpaid; a paid one ended some months after the decision.
    paid = decided + _uniform_int(rng, 10, 400, total)
    lag = np.where(traffic, 15, 180)
    before = np.maximum(earliest, decided - _uniform_int(rng, 0, lag, total))
    u_end = rng.random(total)
    ended = np.where(ongoing, paid, before)
    has_end = np.where(
        ongoing, (u_end < 0.4) & (paid <= plan.as_of), ~(traffic & (u_end < TRAFFIC_NO_END_SHARE))
    )

    has_amount = types.amount[rtype]
    lo, hi = types.log_lo[rtype], types.log_hi[rtype]
    amount = np.round(np.exp(lo + rng.random(total) * (hi - lo)) * 100).astype(np.int64)

    record_province = province[owner]
    away = traffic & (rng.random(total) < CROSS_PROVINCE_TRAFFIC)
    provider_province = np.where(
        away, rng.choice(len(PROVINCES), size=total, p=plan.province_p), record_province
    )
    provider = types.provider_of[types.kind[rtype], provider_province]

    late = rng.random(total) < LATE_SHARE
    delay_days = np.where(
        late, _uniform_int(rng, *LATE_DAYS, total), _uniform_int(rng, 0, 3, total)
    )
    # Feeds arrive in office hours.
    recorded = (decided + delay_days) * _US_PER_DAY + _uniform_int(
        rng, 8 * 3600, 20 * 3600, total
    ) * 1_000_000

    # Corrections: a version 2 row follows the version it supersedes, same subject.
    fix = rng.random(total) < CORRECT_SHARE
    fix[0:1] = False
    fix[1:] &= (owner[1:] == owner[:-1]) & ~fix[:-1]
    fixed = np.nonzero(fix)[0]
    old = fixed - 1
    for column in (rtype, decided, ended, provider):
        column[fixed] = column[old]
    has_end[fixed] = has_end[old]
    has_amount = types.amount[rtype]
    # Amounts are what a correction most often changes (a partial payment recognised).
    amount[fixed] = np.maximum(
        100, np.round(amount[old] * (0.5 + 0.45 * rng.random(len(fixed))))
    ).astype(np.int64)
    recorded[fixed] = recorded[old] + _uniform_int(rng, 1, 60, len(fixed)) * _US_PER_DAY
    version = 1 + fix.astype(np.int32)
    serial = record_id - fix  # version 2 keeps the provider's reference of version 1

    prefix = _take(types.provider_codes, provider)
    number = pc.utf8_lpad(pa.array(serial).cast(pa.string()), width=10, padding="0")
    records = pa.Table.from_arrays(
        [
            pa.array(record_id),
            pa.array(subject_id[owner]),
            pa.array((provider + 1).astype(np.int32)),
            pc.binary_join_element_wise(prefix, number, "-"),
            pa.array(version),
            _take(types.codes, rtype),
            _dates(decided),
            _dates(ended, has_end),
            pa.array(amount, mask=~has_amount),
            _stamps(recorded),
        ],
        schema=TABLES["records"],
    )

    # --- status events -------------------------------------------------------------
    superseded = np.zeros(total, dtype=np.bool_)
    superseded[old] = True
    u_status = rng.random(total)
    annulled = (u_status < ANNUL_SHARE) & ~superseded
    repaired = (
        (u_status >= ANNUL_SHARE)
        & (u_status < ANNUL_SHARE + REPAIR_SHARE)
        & types.negative[rtype]
        & ~superseded
    )
    a_idx = np.nonzero(annulled)[0]
    r_idx = np.nonzero(repaired)[0]
    annulled_at = recorded[a_idx] + _uniform_int(rng, 1, 180, len(a_idx)) * _US_PER_DAY
    back = rng.random(len(a_idx)) < REINSTATE_SHARE
    b_idx = a_idx[back]
    reinstated_at = annulled_at[back] + _uniform_int(rng, 5, 60, len(b_idx)) * _US_PER_DAY
    repaired_at = recorded[r_idx] + _uniform_int(rng, 90, 365, len(r_idx)) * _US_PER_DAY
    event_row = np.concatenate([old, a_idx, b_idx, r_idx])
    event_at = np.concatenate([recorded[fixed], annulled_at, reinstated_at, repaired_at])
    event_status = np.concatenate(
        [
            np.full(len(idx), code, dtype=np.int64)
            for code, idx in enumerate((old, a_idx, b_idx, r_idx))
        ]
    )
    order = np.lexsort((event_at, event_row))  # by record, then time: ids grow with both
    event_row, event_at, event_status = event_row[order], event_at[order], event_status[order]
    status_events = pa.Table.from_arrays(
        [
            pa.array(first_event + np.arange(len(order), dtype=np.int64)),
            pa.array(record_id[event_row]),
            _take(_STATUSES, event_status),
            _stamps(event_at),
        ],
        schema=TABLES["status_events"],
    )

    return _Chunk(
        {
            "subjects": (subjects, province),
            "records": (records, record_province),
            "status_events": (status_events, record_province[event_row]),
            "professions": (professions, province[pro]),
        }
    )


def _write(
    root: Path, name: str, table: pa.Table, province: IntArray, part: int, listing: _Listing
) -> None:
    for p, code in enumerate(PROVINCES):
        mask = province == p
        if not mask.any():
            continue
        partition = partition_name(code)
        folder = root / name / partition
        folder.mkdir(parents=True, exist_ok=True)
        rows = table.filter(pa.array(mask))
        file = f"part-{part:05d}.parquet"
        pq.write_table(rows, folder / file)
        entry = listing[name].setdefault(partition, {"rows": 0, "files": []})
        entry["rows"] += rows.num_rows
        entry["files"].append({"name": file, "rows": rows.num_rows})


# table -> partition -> {"rows": n, "files": [{"name", "rows"}]}: the manifest's listing.
_Listing = dict[str, dict[str, dict[str, Any]]]


def snapshot_parameters(
    *, subjects: int, records_per_subject: float, seed: int, as_of: dt.date
) -> dict[str, Any]:
    """What the manifest records and a reader compares to decide whether to reuse files."""
    return {
        "generator": "socialcredit.synth.bulk",
        "format": FORMAT_VERSION,
        "subjects": subjects,
        "records_per_subject": records_per_subject,
        "seed": seed,
        "as_of": as_of.isoformat(),
    }


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest of a complete generated snapshot, or None."""
    path = Path(out_dir) / MANIFEST
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def generate_snapshot(
    out_dir: Path,
    *,
    subjects: int,
    records_per_subject: float = 10.0,
    seed: int = 0,
    as_of: dt.date,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write a synthetic snapshot of ``subjects`` subjects to ``out_dir``; rows per table.

    Written beside ``out_dir`` and swapped in whole at the end, so a reader never sees a
    half-written snapshot; an existing directory is replaced only if it holds a snapshot
    this function wrote (a manifest), never an unrelated folder.
    """
    if subjects < 0:
        raise ValueError("subjects must not be negative")
    if not 0 <= records_per_subject <= MAX_RECORDS:
        raise ValueError(f"records per subject must be between 0 and {MAX_RECORDS}")
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and read_manifest(out_dir) is None:
        raise FileExistsError(f"{out_dir} exists and is not a generated snapshot")
    tmp = out_dir.with_name(out_dir.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    for name in TABLES:
        # Every table has its folder, even when it ends up with no rows.
        (tmp / name).mkdir(parents=True)

    plan = _plan(as_of, records_per_subject)
    counts = dict.fromkeys(TABLES, 0)
    listing: _Listing = {name: {} for name in TABLES}
    chunks = math.ceil(subjects / CHUNK_SUBJECTS)
    for part in range(chunks):
        start = part * CHUNK_SUBJECTS
        n = min(CHUNK_SUBJECTS, subjects - start)
        # One stream per chunk: a chunk's rows do not depend on how earlier chunks drew.
        rng = np.random.default_rng([seed, part])
        chunk = _chunk(plan, rng, start, n, counts["records"], counts["status_events"])
        for name, (table, province) in chunk.tables.items():
            _write(tmp, name, table, province, part, listing)
            counts[name] += table.num_rows
        del chunk
        if progress is not None:
            progress(start + n, subjects)

    write_manifest(
        tmp,
        {
            name: {"rows": counts[name], "partitions": dict(sorted(listing[name].items()))}
            for name in TABLES
        },
        source="socialcredit.synth.bulk",
        extra={
            **snapshot_parameters(
                subjects=subjects, records_per_subject=records_per_subject, seed=seed, as_of=as_of
            ),
            "chunk_subjects": CHUNK_SUBJECTS,
            "counts": counts,
        },
    )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return counts
