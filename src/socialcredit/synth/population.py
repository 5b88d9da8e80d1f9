"""Synthetic persons and organisations of the YRD pilot zone.

Persons carry everything the registry derives from an ID number (so tests can
compare), plus the accounts and professional profile the demo registers.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace

from socialcredit.identity.ids import uscc_check_char
from socialcredit.identity.regions import region_of
from socialcredit.synth.accounts import bank_card, mobile_number, online_user_id
from socialcredit.synth.authorities import ONLINE, TELECOM
from socialcredit.synth.divisions import pick_division, pick_province
from socialcredit.synth.ids import USCC_ALPHABET, make_ric
from socialcredit.synth.names import company_name, person_name
from socialcredit.synth.unique import SeenFilter

# Age pyramid of the 2020 census, roughly: (youngest, oldest, share in %).
AGE_BANDS: tuple[tuple[int, int, float], ...] = (
    (0, 14, 17.9),
    (15, 24, 11.0),
    (25, 34, 15.5),
    (35, 44, 14.0),
    (45, 54, 16.5),
    (55, 64, 13.0),
    (65, 74, 8.5),
    (75, 90, 3.6),
)
ADULT = 18
# Shares among 24–60 year-olds, about twice the national ones (0.6% doctors,
# 0.9% public servants) so that profession-specific rules have cases to act on.
PROFESSION_SHARES = (("doctor", 0.012), ("public_servant", 0.018))
PROFESSION_AGES = (24, 60)
# (minimum age, share of persons that age with an account linked so far). Nearly
# everyone has a phone and a bank card; these are the links the pilot's providers
# have already made, which also keeps the demo's registration quick.
_TELECOM_SHARE = (16, 0.60)
_BANK_SHARE = (ADULT, 0.45)
_ONLINE_SHARE = (14, 0.25)

_ENTERPRISE_POOL = 1000
_HOSPITAL_KINDS = ("人民医院", "中医医院", "妇幼保健院", "第一人民医院", "中心医院")
_GOVERNMENT_DEPTS = (
    "教育局",
    "财政局",
    "人力资源和社会保障局",
    "住房和城乡建设局",
    "生态环境局",
    "交通运输局",
    "水务局",
    "农业农村局",
)


@dataclass(frozen=True)
class Person:
    index: int
    id_number: str
    name: str
    birth_date: dt.date
    sex: str
    division: str
    province: str
    accounts: tuple[tuple[str, str], ...] = ()  # (provider name, account id)
    profession: str | None = None
    licence_no: str | None = None
    employer: str | None = None  # the employer's credit code

    def age_on(self, day: dt.date) -> int:
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - int(before_birthday)

    def account_of(self, provider: str) -> str | None:
        for name, account in self.accounts:
            if name == provider:
                return account
        return None


@dataclass(frozen=True)
class Organisation:
    index: int
    code: str
    name: str
    kind: str  # enterprise | hospital | government
    division: str
    province: str
    legal_rep: str  # the legal representative's ID number


def org_kind(index: int) -> str:
    """Fixed by index, so even a tiny population has a hospital and a government body."""
    slot = index % 50
    if slot in (1, 2, 3):
        return "hospital"
    if slot in (4, 5):
        return "government"
    return "enterprise"


def place_name(division: str) -> str:
    region = region_of(division)
    # Old "市辖区" codes stand for a whole city's districts: name the city instead.
    if region.county in ("", "市辖区", "县"):
        return region.city
    return region.county


class PopulationFactory:
    """Draws persons and organisations one by one from a single random stream."""

    def __init__(
        self,
        rng: random.Random,
        *,
        today: dt.date,
        capacity: int,
        banks: dict[str, str],
        card_bins: dict[str, str],
    ) -> None:
        self.rng = rng
        self.today = today
        self.banks = banks  # province -> bank name
        self.card_bins = card_bins  # bank name -> card BIN
        self.seen = SeenFilter(capacity)
        self.salt = rng.getrandbits(32)
        self._age_weights = [share for _lo, _hi, share in AGE_BANDS]
        self.hospitals: list[str] = []
        self.government: list[str] = []
        self.enterprises: list[str] = []

    def birth_date(self, *, adult: bool = False) -> dt.date:
        rng = self.rng
        if adult:
            lo, hi = 25, 60
        else:
            lo, hi, _ = rng.choices(AGE_BANDS, weights=self._age_weights)[0]
        days = rng.randrange(max(1, int(lo * 365.25) + 1), int((hi + 1) * 365.25) - 1)
        return self.today - dt.timedelta(days=days)

    def person(self, index: int, *, adult: bool = False) -> Person:
        rng = self.rng
        province = pick_province(rng)
        while True:
            birth = self.birth_date(adult=adult)
            number = make_ric(rng, birth=birth, province=province)
            if self.seen.add(number):
                break
        sex = "M" if int(number[16]) % 2 == 1 else "F"
        person = Person(
            index=index,
            id_number=number,
            name=person_name(rng),
            birth_date=birth,
            sex=sex,
            division=number[:6],
            province=province,
        )
        return self._with_accounts(person)

    def _with_accounts(self, p: Person) -> Person:
        rng = self.rng
        age = p.age_on(self.today)
        accounts: list[tuple[str, str]] = []
        if age >= _TELECOM_SHARE[0] and rng.random() < _TELECOM_SHARE[1]:
            accounts.append((TELECOM, mobile_number(p.index, self.salt)))
        if age >= _BANK_SHARE[0] and rng.random() < _BANK_SHARE[1]:
            bank = self.banks[p.province]
            accounts.append((bank, bank_card(p.index, self.card_bins[bank], self.salt)))
        if age >= _ONLINE_SHARE[0] and rng.random() < _ONLINE_SHARE[1]:
            accounts.append((ONLINE, online_user_id(p.index, self.salt)))
        return replace(p, accounts=tuple(accounts))

    def with_profession(self, p: Person) -> Person:
        """Maybe make ``p`` a doctor or public servant, employed by an organisation drawn so far."""
        rng = self.rng
        age = p.age_on(self.today)
        profession = licence = employer = None
        if PROFESSION_AGES[0] <= age <= PROFESSION_AGES[1]:
            draw = rng.random()
            for name, share in PROFESSION_SHARES:
                if draw < share:
                    profession = name
                    break
                draw -= share
        if profession == "doctor":
            # 医师执业证书编码: level and type, province, year of issue, serial.
            issued = rng.randint(max(p.birth_date.year + 24, 1999), self.today.year)
            licence = f"11{p.province}{issued}{p.index % 10_000_000:07d}"
            employer = self._employer(self.hospitals)
        elif profession == "public_servant":
            licence = f"GWY{p.division}{p.index % 10_000_000:07d}"
            employer = self._employer(self.government)
        if profession is None:
            return p
        return replace(p, profession=profession, licence_no=licence, employer=employer)

    def _employer(self, preferred: list[str]) -> str | None:
        pool = preferred or self.enterprises
        return self.rng.choice(pool) if pool else None

    def organisation(self, index: int, legal_rep: str) -> Organisation:
        rng = self.rng
        kind = org_kind(index)
        province = pick_province(rng)
        division = pick_division(rng, province, self.today.year)
        # Registration department: 11 government organ, 12 public institution, 91 enterprise.
        dept = {"government": "11", "hospital": "12"}.get(kind, "91")
        while True:
            body = "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
            first17 = f"{dept}{division}{body}"
            code = first17 + uscc_check_char(first17)
            if self.seen.add(code):
                break
        if kind == "hospital":
            name = place_name(division) + rng.choice(_HOSPITAL_KINDS)
            self.hospitals.append(code)
        elif kind == "government":
            name = place_name(division) + rng.choice(_GOVERNMENT_DEPTS)
            self.government.append(code)
        else:
            name = company_name(rng, province)
            # Only a fallback employer pool: a bounded sample is enough.
            if len(self.enterprises) < _ENTERPRISE_POOL:
                self.enterprises.append(code)
        return Organisation(index, code, name, kind, division, province, legal_rep)
