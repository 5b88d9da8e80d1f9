"""The real-name registry: persons, organisations, account links, professional profiles.

Every function is keyword-only and works inside the caller's transaction, so a
CLI command or an API request commits all of its changes or none.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcredit.db.models import AccountLink, ProfessionalProfile, RegistryEvent, Subject
from socialcredit.identity.ids import (
    InvalidIdError,
    compact,
    mask,
    parse_ric,
    uscc_division,
    validate_uscc,
)
from socialcredit.identity.regions import region_of
from socialcredit.records.providers import ACCOUNT_PROVIDER_KINDS, get_provider


class RegistryError(ValueError):
    """A registration that cannot be made; the message is meant for the operator."""


def normalise_name(name: str) -> str:
    """Names compare after NFKC and with inner whitespace removed (全角/半角 alike)."""
    return "".join(unicodedata.normalize("NFKC", name).split())


def _log(session: Session, action: str, subject_id: int | None, **detail: object) -> None:
    session.add(
        RegistryEvent(
            action=action,
            subject_id=subject_id,
            detail=json.dumps(detail, ensure_ascii=False, default=str),
        )
    )


def find_subject(session: Session, number: str) -> Subject | None:
    return session.scalar(select(Subject).where(Subject.code == compact(number)))


def require_subject(session: Session, number: str) -> Subject:
    subject = find_subject(session, number)
    if subject is None:
        raise RegistryError(f"no subject registered with ID {mask(compact(number))}")
    return subject


def register_person(session: Session, *, number: str, name: str) -> Subject:
    """Register a person; birth date, sex and birthplace come from the number."""
    try:
        pid = parse_ric(number)
    except InvalidIdError as exc:
        raise RegistryError(str(exc)) from None
    name = normalise_name(name)
    if not name:
        raise RegistryError("name must not be empty")
    if find_subject(session, pid.number) is not None:
        raise RegistryError(f"ID {mask(pid.number)} is already registered")
    region = region_of(pid.division_code)
    subject = Subject(
        kind="person",
        code=pid.number,
        name=name,
        division_code=pid.division_code,
        province_code=region.province_code,
        city_code=region.city_code,
        birth_date=pid.birth_date,
        sex=pid.sex,
    )
    session.add(subject)
    session.flush()
    _log(session, "person.register", subject.id)
    return subject


def register_organisation(
    session: Session,
    *,
    code: str,
    name: str,
    legal_rep: str,
    override_reason: str | None = None,
) -> Subject:
    """Register an organisation with its legal representative (a registered person).

    A code failing the GB 32100 check is accepted only with ``override_reason``;
    the override is stored on the subject and in the registry log.
    """
    code = compact(code)
    override = False
    try:
        code = validate_uscc(code)
    except InvalidIdError as exc:
        if not override_reason:
            raise RegistryError(
                f"{exc} (a legacy code needs an explicit override with a reason)"
            ) from None
        if len(code) != 18:
            raise RegistryError(f"{exc}; even a legacy code must have 18 characters") from None
        override = True
    name = normalise_name(name)
    if not name:
        raise RegistryError("name must not be empty")
    if find_subject(session, code) is not None:
        raise RegistryError(f"credit code {mask(code)} is already registered")
    rep = find_subject(session, legal_rep)
    if rep is None or rep.kind != "person":
        raise RegistryError(
            f"legal representative {mask(compact(legal_rep))} is not a registered person"
        )
    division = uscc_division(code)
    region = region_of(division)
    subject = Subject(
        kind="organisation",
        code=code,
        name=name,
        division_code=division,
        province_code=region.province_code,
        city_code=region.city_code,
        legal_rep_id=rep.id,
        check_override=override,
        override_reason=override_reason if override else None,
    )
    session.add(subject)
    session.flush()
    if override:
        _log(session, "organisation.register.override", subject.id, reason=override_reason)
    else:
        _log(session, "organisation.register", subject.id)
    return subject


def link_account(
    session: Session, *, provider: str, account_id: str, number: str, name: str
) -> AccountLink:
    """Link a provider's account to a person after the ID number and name match."""
    prov = get_provider(session, provider)
    if prov.kind not in ACCOUNT_PROVIDER_KINDS:
        raise RegistryError(
            f"provider {provider!r} is a {prov.kind}; only "
            f"{', '.join(sorted(ACCOUNT_PROVIDER_KINDS))} providers link accounts"
        )
    account_id = account_id.strip()
    if not account_id:
        raise RegistryError("account id must not be empty")
    subject = find_subject(session, number)
    # One message for "unknown ID" and "wrong name": the answer must not reveal
    # which ID numbers are registered.
    if subject is None or subject.kind != "person" or subject.name != normalise_name(name):
        raise RegistryError("ID number and name do not match the registry")
    existing = session.scalar(
        select(AccountLink).where(
            AccountLink.provider_id == prov.id, AccountLink.account_id == account_id
        )
    )
    if existing is not None:
        if existing.subject_id == subject.id:
            return existing
        raise RegistryError(f"account {account_id!r} of {provider!r} is linked to another person")
    link = AccountLink(provider_id=prov.id, account_id=account_id, subject_id=subject.id)
    session.add(link)
    session.flush()
    _log(session, "account.link", subject.id, provider=provider, account=account_id)
    return link


@lru_cache(maxsize=4)
def _professions(path: str | None) -> dict[str, dict[str, object]]:
    if path:
        text = Path(path).read_text("utf-8")
    else:
        text = resources.files("socialcredit.data").joinpath("professions.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    professions: dict[str, dict[str, object]] = data["professions"]
    return professions


def professions(path: Path | None = None) -> dict[str, dt.date]:
    """Each profession and the date from which it may be registered."""
    out: dict[str, dt.date] = {}
    for key, spec in _professions(str(path) if path else None).items():
        enabled = spec["enabled_from"]
        out[key] = enabled if isinstance(enabled, dt.date) else dt.date.fromisoformat(str(enabled))
    return out


def register_profession(
    session: Session,
    *,
    number: str,
    profession: str,
    licence_no: str,
    employer: str | None,
    on: dt.date | None = None,
    professions_file: Path | None = None,
) -> ProfessionalProfile:
    enabled = professions(professions_file)
    on = on or dt.date.today()
    if profession not in enabled:
        raise RegistryError(f"unknown profession {profession!r}; one of: {', '.join(enabled)}")
    if on < enabled[profession]:
        raise RegistryError(
            f"profession {profession!r} is enabled from {enabled[profession].isoformat()}"
        )
    subject = find_subject(session, number)
    if subject is None or subject.kind != "person":
        raise RegistryError(f"no person registered with ID {mask(compact(number))}")
    licence_no = licence_no.strip()
    if not licence_no:
        raise RegistryError("licence number must not be empty")
    employer_id: int | None = None
    if employer:
        org = find_subject(session, employer)
        if org is None or org.kind != "organisation":
            raise RegistryError(
                f"employer {mask(compact(employer))} is not a registered organisation"
            )
        employer_id = org.id
    profile = ProfessionalProfile(
        subject_id=subject.id, profession=profession, licence_no=licence_no, employer_id=employer_id
    )
    session.add(profile)
    session.flush()
    _log(session, "profession.register", subject.id, profession=profession)
    return profile
