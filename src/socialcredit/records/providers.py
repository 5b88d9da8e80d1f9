"""Providers: the authorities and services that furnish records or link accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from socialcredit.db.models import Provider, ProviderRecordType, RecordType

PROVIDER_KINDS: dict[str, str] = {
    "traffic_police": "公安交通管理部门 / Traffic police",
    "tax_bureau": "税务机关 / Tax bureau",
    "court": "人民法院 / Court",
    "market_regulator": "市场监督管理部门 / Market regulator",
    "health_regulator": "卫生健康部门 / Health regulator",
    "civil_service_bureau": "公务员主管部门 / Civil service bureau",
    "civil_affairs": "民政部门 / Civil affairs",
    "bank": "银行 / Bank",
    "telecom": "电信运营商 / Telecom operator",
    "postal": "邮政快递 / Postal service",
    "online_service": "互联网服务 / Online service",
}

# Kinds that may link accounts to persons after a real-name check.
ACCOUNT_PROVIDER_KINDS = frozenset({"bank", "telecom", "postal", "online_service"})


class ProviderError(ValueError):
    pass


def add_provider(
    session: Session, *, name: str, kind: str, region_code: str, record_types: list[str]
) -> Provider:
    if kind not in PROVIDER_KINDS:
        raise ProviderError(f"unknown provider kind {kind!r}; one of: {', '.join(PROVIDER_KINDS)}")
    if not (region_code.isdigit() and len(region_code) in (2, 4, 6)):
        raise ProviderError(
            f"region must be a 2-, 4- or 6-digit division code, not {region_code!r}"
        )
    if session.scalar(select(Provider).where(Provider.name == name)) is not None:
        raise ProviderError(f"provider {name!r} already exists")
    known = set(session.scalars(select(RecordType.code)))
    unknown = [t for t in record_types if t not in known]
    if unknown:
        raise ProviderError(f"record types not in the catalogue: {', '.join(unknown)}")
    provider = Provider(name=name, kind=kind, region_code=region_code)
    session.add(provider)
    session.flush()
    for code in dict.fromkeys(record_types):
        session.add(ProviderRecordType(provider_id=provider.id, record_type=code))
    return provider


def get_provider(session: Session, name: str) -> Provider:
    provider = session.scalar(select(Provider).where(Provider.name == name))
    if provider is None:
        raise ProviderError(f"unknown provider {name!r} (add it with `socialcredit provider add`)")
    return provider


def provider_scope(session: Session, provider_id: int) -> set[str]:
    return set(
        session.scalars(
            select(ProviderRecordType.record_type).where(
                ProviderRecordType.provider_id == provider_id
            )
        )
    )
