from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric, uscc

from socialcredit.identity.ids import parse_ric, validate_uscc
from socialcredit.records.catalogue import default_catalogue
from socialcredit.records.providers import PROVIDER_KINDS
from socialcredit.synth.divisions import PROVINCE_POPULATION_M
from socialcredit.synth.generator import generate
from tests.synth.conftest import TODAY, Pilot

CATALOGUE = default_catalogue().by_code()
FEED_COLUMNS = [
    "provider_record_id",
    "subject_id",
    "subject_name",
    "record_type",
    "decision_ref",
    "decided_on",
    "conduct_ended_on",
    "amount_cny",
    "account_provider",
    "account_id",
    "action",
]


def _defects(row: dict[str, str | None], provider: dict[str, Any], pilot: Pilot) -> set[str]:
    """What the platform should reject this row for, judged from the generated registry."""
    found: set[str] = set()
    subject = row["subject_id"]
    registered: dict[str, Any] | None
    if subject is None:
        link = pilot.accounts.get((str(row["account_provider"]), str(row["account_id"])))
        registered = pilot.persons[link["id_number"]] if link else None
        if link is None:
            found.add("unknown_account")
    else:
        registered = pilot.persons.get(subject) or pilot.orgs.get(subject)
        if registered is None:
            known_format = ric.is_valid(subject) or uscc.is_valid(subject)
            found.add("unknown_subject" if known_format else "bad_checksum")
    if registered is not None and row["subject_name"] != registered["name"]:
        found.add("name_mismatch")
    decided = dt.date.fromisoformat(str(row["decided_on"]))
    if decided > TODAY:
        found.add("future_date")
    birth = registered.get("birth_date") if registered else None
    if birth is not None and decided < birth:
        found.add("before_birth")
    spec = CATALOGUE.get(str(row["record_type"]))
    if spec is None:
        found.add("unknown_type")
    elif spec.code not in provider["record_types"]:
        found.add("out_of_scope")
    if row["amount_cny"] is not None and Decimal(row["amount_cny"]) < 0:
        found.add("negative_amount")
    return found


def test_ids_and_credit_codes_all_validate(pilot: Pilot) -> None:
    assert len(pilot.persons) == 1500 and len(pilot.orgs) == 120
    for number, p in pilot.persons.items():
        pid = parse_ric(number)  # the registry's own check, stdnum underneath
        assert (pid.birth_date, pid.sex, pid.division_code) == (
            p["birth_date"],
            p["sex"],
            p["division_code"],
        )
    for code, org in pilot.orgs.items():
        assert validate_uscc(code) == code
        rep = pilot.persons[org["legal_rep_id"]]
        assert (TODAY - rep["birth_date"]).days >= 18 * 365


def test_ages_are_plausible_with_some_minors(pilot: Pilot) -> None:
    ages = [(TODAY - p["birth_date"]).days / 365.25 for p in pilot.persons.values()]
    assert min(ages) >= 0 and max(ages) < 91
    minors = sum(a < 18 for a in ages) / len(ages)
    assert 0.12 < minors < 0.30


def test_provinces_follow_population(tmp_path: Path) -> None:
    # No records: a larger population stays fast.
    result = generate(tmp_path, persons=4000, orgs=0, seed=5, today=TODAY, records_per_subject=0)
    total = sum(PROVINCE_POPULATION_M.values())
    for province, millions in PROVINCE_POPULATION_M.items():
        share = result.persons_by_province[province] / 4000
        assert share == pytest.approx(millions / total, abs=0.03)


def test_same_seed_same_files_other_seed_other_people(tmp_path: Path) -> None:
    def files(out: Path, seed: int) -> dict[str, bytes]:
        generate(out, persons=200, orgs=20, seed=seed, today=TODAY)
        return {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    first, again = files(tmp_path / "a", 3), files(tmp_path / "b", 3)
    assert first == again
    other = files(tmp_path / "c", 4)
    assert other["subjects/persons.parquet"] != first["subjects/persons.parquet"]


def test_all_formats_and_encodings_written_and_readable(pilot: Pilot) -> None:
    kinds = {(p["fmt"], p["encoding"]) for p in pilot.providers if p["fmt"]}
    assert {"csv", "jsonl", "parquet"} == {fmt for fmt, _ in kinds}
    assert {"gb18030", "utf-8-sig", "utf-8"} <= {enc for fmt, enc in kinds if fmt == "csv"}
    by_file = {f["file"]: f for f in pilot.manifest["feeds"]}
    for provider, rows in pilot.feeds():
        assert len(rows) == by_file[provider["feed_file"]]["rows"]
        if rows:
            assert list(rows[0]) == FEED_COLUMNS


def test_gb18030_feed_really_is_gb18030(pilot: Pilot) -> None:
    rows = {f["file"]: f["rows"] for f in pilot.manifest["feeds"]}
    # A header alone is ASCII, so only feeds with rows can tell the encodings apart.
    gb = [p for p in pilot.providers if p["encoding"] == "gb18030" and rows[p["feed_file"]]]
    assert gb
    for p in gb:
        raw = (pilot.out / p["feed_file"]).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
        # Decoded as GB18030, the names are the registered ones.
        lines = list(csv.DictReader(io.StringIO(raw.decode("gb18030"))))
        named = [r for r in lines if r["subject_id"] in pilot.persons]
        matching = [r for r in named if r["subject_name"] == pilot.persons[r["subject_id"]]["name"]]
        assert named and len(matching) > 0.9 * len(named)
    bom = next(p for p in pilot.providers if p["encoding"] == "utf-8-sig")
    assert (pilot.out / bom["feed_file"]).read_bytes().startswith(b"\xef\xbb\xbf")


def test_every_defect_is_one_the_manifest_declares(pilot: Pilot) -> None:
    total = defective = 0
    declared: Counter[str] = Counter()
    by_file = {f["file"]: f for f in pilot.manifest["feeds"]}
    for provider, rows in pilot.feeds():
        found: Counter[str] = Counter()
        for row in rows:
            defects = _defects(row, provider, pilot)
            assert len(defects) <= 1, (row, defects)
            found.update(defects)
        assert found == Counter(by_file[provider["feed_file"]]["malformed"])
        declared.update(found)
        total += len(rows)
        defective += sum(found.values())
    assert defective / total == pytest.approx(0.02, abs=0.008)
    assert set(declared) == {
        "bad_checksum",
        "unknown_subject",
        "future_date",
        "before_birth",
        "unknown_type",
        "negative_amount",
        "name_mismatch",
        "out_of_scope",
    }


def test_malformed_share_is_honoured(tmp_path: Path) -> None:
    clean = generate(
        tmp_path / "clean", persons=300, orgs=30, seed=2, today=TODAY, malformed_share=0
    )
    assert clean.malformed == 0 and clean.rows > 500
    dirty = generate(
        tmp_path / "dirty", persons=300, orgs=30, seed=2, today=TODAY, malformed_share=0.2
    )
    assert dirty.malformed / dirty.rows == pytest.approx(0.2, abs=0.04)


def test_account_rows_refer_to_existing_links(pilot: Pilot) -> None:
    by_account = 0
    for _provider, rows in pilot.feeds():
        for row in rows:
            if row["subject_id"] is None:
                by_account += 1
                link = pilot.accounts[(str(row["account_provider"]), str(row["account_id"]))]
                assert link["id_number"] in pilot.persons
    assert by_account > 20


def test_valid_rows_are_realistic(pilot: Pilot) -> None:
    since = TODAY.replace(year=TODAY.year - 4)
    types: Counter[str] = Counter()
    for provider, rows in pilot.feeds():
        for row in rows:
            if _defects(row, provider, pilot) or row["action"] != "record":
                continue
            code = str(row["record_type"])
            types[CATALOGUE[code].category] += 1
            decided = dt.date.fromisoformat(str(row["decided_on"]))
            assert since <= decided <= TODAY
            assert (row["amount_cny"] is not None) == CATALOGUE[code].amount_relevant
            number = (
                row["subject_id"]
                or pilot.accounts[(str(row["account_provider"]), str(row["account_id"]))][
                    "id_number"
                ]
            )
            profession = CATALOGUE[code].profession
            if profession is not None:
                assert pilot.professions[number]["profession"] == profession
            person = pilot.persons.get(number)
            if person is not None and CATALOGUE[code].category == "court_enforcement":
                assert (decided - person["birth_date"]).days >= 18 * 365  # minors never listed
    assert types.most_common(2)[0][0] == "traffic"
    assert {"tax", "medical", "civil_service", "commendation"} <= set(types)


def test_annulments_and_corrections_refer_back_within_the_feed(pilot: Pilot) -> None:
    actions: Counter[str] = Counter()
    for _provider, rows in pilot.feeds():
        earlier: set[str | None] = set()
        for row in rows:
            actions[str(row["action"])] += 1
            if row["action"] == "record":
                assert row["provider_record_id"] not in earlier
                earlier.add(row["provider_record_id"])
            else:
                assert row["provider_record_id"] in earlier
    assert actions["annul"] and actions["correct"]
    assert actions["record"] > 0.98 * sum(actions.values())


def test_providers_match_the_catalogue(pilot: Pilot) -> None:
    kinds = Counter(p["kind"] for p in pilot.providers)
    assert set(kinds) <= set(PROVIDER_KINDS)
    assert kinds["traffic_police"] == kinds["tax_bureau"] == 4
    assert kinds["telecom"] == 1
    for p in pilot.providers:
        assert all(CATALOGUE[t].issuing_body_kind == p["kind"] for t in p["record_types"])
        assert bool(p["feed_file"]) == bool(p["record_types"])


def test_professionals_work_for_registered_organisations(pilot: Pilot) -> None:
    assert {p["profession"] for p in pilot.professions.values()} == {"doctor", "public_servant"}
    for prof in pilot.professions.values():
        assert prof["licence_no"]
        employer = pilot.orgs[prof["employer_uscc"]]
        expected = "hospital" if prof["profession"] == "doctor" else "government"
        assert employer["kind"] == expected


def test_subject_tables_are_parquet_with_stable_columns(pilot: Pilot) -> None:
    schema = pq.read_schema(pilot.out / "subjects" / "persons.parquet")
    assert schema.names == [
        "id_number",
        "name",
        "birth_date",
        "sex",
        "division_code",
        "province_code",
    ]
