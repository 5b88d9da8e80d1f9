"""The pilot's providers: which authorities and services furnish records, and how.

One traffic police, tax bureau, high court, market regulator, health commission,
civil-service bureau, civil-affairs department and city bank per YRD province,
plus a telecom operator and an online payment platform that only link accounts.
A provider may furnish exactly the catalogue types its kind issues.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from socialcredit.records.catalogue import Catalogue, default_catalogue

PROVINCE_ABBR = {"31": "沪", "32": "苏", "33": "浙", "34": "皖"}
_PROVINCE_NAME = {"31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省"}

# Per province: (kind, short code, name template). "{p}" is the province name;
# Shanghai is a municipality, so its departments are 市-level and others 省-level.
_PROVINCIAL: tuple[tuple[str, str, str, str], ...] = (
    ("traffic_police", "TP", "上海市公安局交通警察总队", "{p}公安厅交通警察总队"),
    ("tax_bureau", "TX", "国家税务总局上海市税务局", "国家税务总局{p}税务局"),
    ("court", "CT", "上海市高级人民法院", "{p}高级人民法院"),
    ("market_regulator", "MR", "上海市市场监督管理局", "{p}市场监督管理局"),
    ("health_regulator", "HR", "上海市卫生健康委员会", "{p}卫生健康委员会"),
    ("civil_service_bureau", "CS", "上海市公务员局", "{p}公务员局"),
    ("civil_affairs", "CA", "上海市民政局", "{p}民政厅"),
)
# A city commercial bank per province, with a plausible UnionPay debit-card BIN.
_BANKS = {
    "31": ("上海银行", "622892"),
    "32": ("江苏银行", "622173"),
    "33": ("浙商银行", "622309"),
    "34": ("徽商银行", "622651"),
}
TELECOM = "中国移动通信集团有限公司"
ONLINE = "支付宝（中国）网络技术有限公司"

# Feeds arrive in every published format; older police systems export GB18030.
# Cycled over the providers in manifest order, so any population has all of them.
FEED_VARIANTS: tuple[tuple[str, str | None], ...] = (
    ("csv", "gb18030"),
    ("jsonl", "utf-8"),
    ("csv", "utf-8-sig"),
    ("parquet", None),
    ("csv", "utf-8"),
)
_SUFFIX = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}


@dataclass(frozen=True)
class ProviderSpec:
    name: str
    kind: str
    region_code: str
    province: str | None  # None for nationwide providers
    code: str  # prefix of its provider_record_ids and decision refs
    record_types: tuple[str, ...]
    fmt: str | None = None  # None: furnishes no records, only links accounts
    encoding: str | None = None
    card_bin: str | None = None

    @property
    def feed_file(self) -> str | None:
        if self.fmt is None:
            return None
        return f"feeds/{self.kind}-{self.province or 'cn'}{_SUFFIX[self.fmt]}"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["record_types"] = list(self.record_types)
        data["feed_file"] = self.feed_file
        return data


def pilot_providers(catalogue: Catalogue | None = None) -> list[ProviderSpec]:
    """Every provider of the pilot, in a fixed order."""
    catalogue = catalogue or default_catalogue()
    by_kind: dict[str, tuple[str, ...]] = {}
    for rt in catalogue.record_types:
        by_kind[rt.issuing_body_kind] = (*by_kind.get(rt.issuing_body_kind, ()), rt.code)
    specs: list[ProviderSpec] = []
    for kind, short, shanghai, template in _PROVINCIAL:
        for province in PROVINCE_ABBR:
            name = shanghai if province == "31" else template.format(p=_PROVINCE_NAME[province])
            specs.append(
                ProviderSpec(name, kind, f"{province}0000", province, f"{short}{province}", ())
            )
    for province, (bank, card_bin) in _BANKS.items():
        specs.append(
            ProviderSpec(
                bank, "bank", f"{province}0000", province, f"BK{province}", (), card_bin=card_bin
            )
        )
    specs.append(ProviderSpec(TELECOM, "telecom", "110000", None, "CM", ()))
    specs.append(ProviderSpec(ONLINE, "online_service", "330106", None, "AP", ()))
    out: list[ProviderSpec] = []
    variant = 0
    for spec in specs:
        types = by_kind.get(spec.kind, ())
        if types:
            fmt, encoding = FEED_VARIANTS[variant % len(FEED_VARIANTS)]
            variant += 1
            out.append(replace(spec, record_types=types, fmt=fmt, encoding=encoding))
        else:
            out.append(spec)
    return out
