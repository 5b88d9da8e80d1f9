"""Write a synthetic YRD pilot: subjects, providers and their record feeds.

Layout of ``out_dir``::

    manifest.json              parameters, counts, and per feed its rows and defects
    providers.json             the providers: name, kind, region, record types, feed file
    subjects/persons.parquet   id_number, name, birth_date, sex, division_code, province_code
    subjects/organisations.parquet  uscc, name, kind, division_code, province_code, legal_rep_id
    subjects/accounts.parquet  provider, account_id, id_number, name
    subjects/professions.parquet    id_number, profession, licence_no, employer_uscc
    feeds/<kind>-<province>.{csv,jsonl,parquet}

Subjects are drawn in chunks; each chunk's records are generated and appended
to the feeds before the next chunk is drawn, so memory holds one chunk however
large the population. The same seed, sizes and date give the same files.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from socialcredit.records.catalogue import default_catalogue
from socialcredit.synth.authorities import ProviderSpec, pilot_providers
from socialcredit.synth.feedfiles import FeedWriter, TableWriter, open_feed
from socialcredit.synth.feedrows import RowFactory
from socialcredit.synth.population import ADULT, Organisation, Person, PopulationFactory

CHUNK = 5000  # persons per chunk; part of what a seed means, so not a parameter
MANIFEST = "manifest.json"
PROVIDERS = "providers.json"

PERSONS_SCHEMA = pa.schema(
    [
        ("id_number", pa.string()),
        ("name", pa.string()),
        ("birth_date", pa.date32()),
        ("sex", pa.string()),
        ("division_code", pa.string()),
        ("province_code", pa.string()),
    ]
)
ORGS_SCHEMA = pa.schema(
    [
        ("uscc", pa.string()),
        ("name", pa.string()),
        ("kind", pa.string()),
        ("division_code", pa.string()),
        ("province_code", pa.string()),
        ("legal_rep_id", pa.string()),
    ]
)
ACCOUNTS_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("account_id", pa.string()),
        ("id_number", pa.string()),
        ("name", pa.string()),
    ]
)
PROFESSIONS_SCHEMA = pa.schema(
    [
        ("id_number", pa.string()),
        ("profession", pa.string()),
        ("licence_no", pa.string()),
        ("employer_uscc", pa.string()),
    ]
)
SUBJECT_FILES = {
    "persons": ("subjects/persons.parquet", PERSONS_SCHEMA),
    "organisations": ("subjects/organisations.parquet", ORGS_SCHEMA),
    "accounts": ("subjects/accounts.parquet", ACCOUNTS_SCHEMA),
    "professions": ("subjects/professions.parquet", PROFESSIONS_SCHEMA),
}

Progress = Callable[[int, int], None]  # (subjects drawn so far, subjects in all)


@dataclass
class FeedSummary:
    provider: str
    file: str
    fmt: str
    encoding: str | None
    rows: int
    actions: dict[str, int]
    malformed: dict[str, int]


@dataclass
class GenerateResult:
    out_dir: Path
    seed: int
    today: dt.date
    counts: dict[str, int]  # rows written per subject file: persons, organisations, ...
    persons_by_province: dict[str, int]
    providers: int
    feeds: list[FeedSummary] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.feeds)

    @property
    def malformed(self) -> int:
        return sum(sum(f.malformed.values()) for f in self.feeds)

    def as_json(self) -> dict[str, Any]:
        defects: Counter[str] = Counter()
        for f in self.feeds:
            defects.update(f.malformed)
        return {
            "out_dir": str(self.out_dir),
            "seed": self.seed,
            "today": self.today.isoformat(),
            **self.counts,
            "persons_by_province": self.persons_by_province,
            "providers": self.providers,
            "rows": self.rows,
            "malformed": self.malformed,
            "malformed_by_kind": dict(sorted(defects.items())),
            "feeds": [f.__dict__ for f in self.feeds],
        }


def generate(
    out_dir: Path,
    *,
    persons: int,
    orgs: int,
    seed: int,
    today: dt.date,
    malformed_share: float = 0.02,
    records_per_subject: float = 5.0,
    progress: Progress | None = None,
) -> GenerateResult:
    """Write the population, the providers manifest and one feed per record-furnishing provider.

    ``records_per_subject`` is the mean number of feed rows per subject (infants
    have none); ``malformed_share`` the share of rows carrying one defect.
    """
    if persons < 0 or orgs < 0:
        raise ValueError("--persons and --orgs must not be negative")
    if orgs and not persons:
        raise ValueError("organisations need persons: every one has a legal representative")
    if not 0 <= malformed_share <= 1:
        raise ValueError("malformed share must be between 0 and 1")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    catalogue = default_catalogue()
    providers = pilot_providers(catalogue)
    (out_dir / PROVIDERS).write_text(
        json.dumps([p.as_json() for p in providers], ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8",
    )
    banks = {p.province: p.name for p in providers if p.kind == "bank" and p.province}
    bins = {p.name: p.card_bin for p in providers if p.card_bin}
    # Two streams: the population does not change when only the feed parameters do.
    people = PopulationFactory(
        random.Random(seed), today=today, capacity=persons + orgs, banks=banks, card_bins=bins
    )
    rows = RowFactory(
        random.Random(f"{seed}/rows"),
        today=today,
        providers=providers,
        catalogue=catalogue,
        records_per_subject=records_per_subject,
        malformed_share=malformed_share,
    )
    tables = {
        key: TableWriter(out_dir / path, schema) for key, (path, schema) in SUBJECT_FILES.items()
    }
    feeds = _open_feeds(out_dir, providers)
    by_province: Counter[str] = Counter()
    adults: list[Person] = []
    try:
        for start in range(0, persons, CHUNK):
            end = min(persons, start + CHUNK)
            # Person 0 is an adult so that the first organisation has a legal representative.
            chunk = [people.person(i, adult=i == 0) for i in range(start, end)]
            adults = [p for p in chunk if p.age_on(today) >= ADULT] or adults
            rng = people.rng
            chunk_orgs = [
                people.organisation(k, rng.choice(adults).id_number)
                for k in range(start * orgs // persons, end * orgs // persons)
            ]
            chunk = [people.with_profession(p) for p in chunk]
            by_province.update(p.province for p in chunk)
            _write_subjects(tables, chunk, chunk_orgs)
            for p in chunk:
                rows.person_rows(p)
            for o in chunk_orgs:
                rows.org_rows(o)
            for feed in rows.feeds.values():
                feeds[feed.spec.name].write(feed.buffer)
                feed.buffer.clear()
            if progress is not None:
                progress(end + end * orgs // persons, persons + orgs)
    finally:
        for table in tables.values():
            table.close()
        for feed_writer in feeds.values():
            feed_writer.close()
    result = GenerateResult(
        out_dir=out_dir,
        seed=seed,
        today=today,
        counts={key: t.rows for key, t in tables.items()},
        persons_by_province=dict(sorted(by_province.items())),
        providers=len(providers),
        feeds=[
            FeedSummary(
                provider=f.spec.name,
                file=f.spec.feed_file or "",
                fmt=f.spec.fmt or "",
                encoding=f.spec.encoding,
                rows=f.stats.rows,
                actions=dict(sorted(f.stats.actions.items())),
                malformed=dict(sorted(f.stats.malformed.items())),
            )
            for f in rows.feeds.values()
        ],
    )
    manifest = {
        **result.as_json(),
        "malformed_share": malformed_share,
        "records_per_subject": records_per_subject,
        "subject_files": {key: path for key, (path, _schema) in SUBJECT_FILES.items()},
        "providers_file": PROVIDERS,
    }
    manifest["out_dir"] = "."  # the directory may be moved; paths inside are relative
    (out_dir / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return result


def _open_feeds(out_dir: Path, providers: list[ProviderSpec]) -> dict[str, FeedWriter]:
    feeds: dict[str, FeedWriter] = {}
    for p in providers:
        if p.fmt is not None and p.feed_file is not None:
            feeds[p.name] = open_feed(out_dir / p.feed_file, p.fmt, p.encoding)
    return feeds


def _write_subjects(
    tables: dict[str, TableWriter], persons: list[Person], orgs: list[Organisation]
) -> None:
    tables["persons"].write(
        [
            {
                "id_number": p.id_number,
                "name": p.name,
                "birth_date": p.birth_date,
                "sex": p.sex,
                "division_code": p.division,
                "province_code": p.province,
            }
            for p in persons
        ]
    )
    tables["organisations"].write(
        [
            {
                "uscc": o.code,
                "name": o.name,
                "kind": o.kind,
                "division_code": o.division,
                "province_code": o.province,
                "legal_rep_id": o.legal_rep,
            }
            for o in orgs
        ]
    )
    tables["accounts"].write(
        [
            {"provider": prov, "account_id": acc, "id_number": p.id_number, "name": p.name}
            for p in persons
            for prov, acc in p.accounts
        ]
    )
    tables["professions"].write(
        [
            {
                "id_number": p.id_number,
                "profession": p.profession,
                "licence_no": p.licence_no,
                "employer_uscc": p.employer,
            }
            for p in persons
            if p.profession is not None
        ]
    )


def read_manifest(out_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path(out_dir) / MANIFEST).read_text("utf-8"))
    return data


def read_providers(out_dir: Path) -> list[ProviderSpec]:
    raw = json.loads((Path(out_dir) / PROVIDERS).read_text("utf-8"))
    return [
        ProviderSpec(
            name=p["name"],
            kind=p["kind"],
            region_code=p["region_code"],
            province=p["province"],
            code=p["code"],
            record_types=tuple(p["record_types"]),
            fmt=p["fmt"],
            encoding=p["encoding"],
            card_bin=p["card_bin"],
        )
        for p in raw
    ]
