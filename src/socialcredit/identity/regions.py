"""Administrative divisions (GB/T 2260) and the Yangtze River Delta pilot zone.

Names come from python-stdnum's division table, the same one that validates
the birthplace in a resident ID number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb

# The pilot zone: the first two digits of the division code.
YRD_PROVINCES: dict[str, str] = {
    "31": "Shanghai",
    "32": "Jiangsu",
    "33": "Zhejiang",
    "34": "Anhui",
}


@dataclass(frozen=True)
class Region:
    division_code: str
    province_code: str
    city_code: str
    province: str
    city: str
    county: str

    @property
    def in_pilot(self) -> bool:
        return self.province_code in YRD_PROVINCES


def _strip_years(name: str) -> str:
    # The table marks renamed or abolished divisions as "[1983-]西湖区"; keep the newest name.
    last = name.split(",")[-1]
    return last.split("]", 1)[1] if last.startswith("[") else last


@lru_cache(maxsize=65536)
def _names(code: str) -> dict[str, str]:
    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    return info


@lru_cache(maxsize=65536)
def region_of(division_code: str) -> Region:
    """Province, city and county of a six-digit division code; unknown parts are ''."""
    code = division_code[:6]
    info = _names(code)
    city_info = _names(code[:4] + "00")
    county = _strip_years(info.get("county", ""))
    city = _strip_years(city_info.get("county", "")) if code[4:] != "00" else county
    # Municipalities (Shanghai) have no prefecture-level city: the province is the city.
    if city in ("", "市辖区", "县"):
        city = info.get("province", "")
    return Region(
        division_code=code,
        province_code=code[:2],
        city_code=code[:4],
        province=info.get("province", ""),
        city=city,
        county=county,
    )
