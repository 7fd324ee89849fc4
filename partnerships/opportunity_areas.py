"""The 12 Opportunity Areas as data: which area a school is in, whatever its district is called now.

`partnerships/data/opportunity_areas.json` defines each area by the ONS codes of its local
authority districts at designation (2016–17), with the source and date, and lists the code
changes since (West Somerset → Somerset West and Taunton in 2019 → Somerset in 2023; Scarborough →
North Yorkshire in 2023). A school is classified, in this order:

1. by its district code, when that is a district of an area as designated;
2. by its LSOA or ward code, when the data file lists it for an area;
3. when its district code is the successor of a designated district (the merged district is
   larger than the area): by its LSOA name, which ONS took from the district at the census
   ("Scarborough 012C"), or else by the area the school already had (a school does not move);
4. by its district name, for files without codes (the names as designated).

Anything else is outside every area.
"""

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "data" / "opportunity_areas.json"


@dataclass(frozen=True)
class Areas:
    names: tuple[str, ...]
    by_district_code: dict[str, str]
    by_district_name: dict[str, str]  # lower case
    by_lsoa_code: dict[str, str]
    by_ward_code: dict[str, str]
    # successor district code -> {designated district name (lower case) -> area}
    merged: dict[str, dict[str, str]]
    source: str
    designated_on: str


@cache
def areas() -> Areas:
    data = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    by_code, by_name, code_name = {}, {}, {}
    for area in data["areas"]:
        for district in area["districts"]:
            by_code[district["code"]] = area["name"]
            by_name[district["name"].lower()] = area["name"]
            code_name[district["code"]] = district["name"].lower()
    successor = {row["code"]: row["successor"] for row in data["successors"]}
    merged: dict[str, dict[str, str]] = {}
    for code, area in by_code.items():
        name = code_name[code]
        seen, current = set(), code
        while current in successor and current not in seen:  # follow the chain of mergers
            seen.add(current)
            current = successor[current]
            merged.setdefault(current, {})[name] = area
    return Areas(
        names=tuple(area["name"] for area in data["areas"]),
        by_district_code=by_code,
        by_district_name=by_name,
        by_lsoa_code={code: area for area, codes in data.get("lsoa_codes", {}).items() for code in codes},
        by_ward_code={code: area for area, codes in data.get("ward_codes", {}).items() for code in codes},
        merged=merged,
        source=data["source"],
        designated_on=data["designated_on"],
    )


def classify(
    *,
    district_code: str = "",
    district_name: str = "",
    lsoa_code: str = "",
    lsoa_name: str = "",
    ward_code: str = "",
    current: str = "",
) -> str:
    """The Opportunity Area a school is in ("" for none); see the module docstring for the order."""
    data = areas()
    if district_code in data.by_district_code:
        return data.by_district_code[district_code]
    if lsoa_code and lsoa_code in data.by_lsoa_code:
        return data.by_lsoa_code[lsoa_code]
    if ward_code and ward_code in data.by_ward_code:
        return data.by_ward_code[ward_code]
    if district_code in data.merged:
        former = data.merged[district_code]
        lsoa_name = lsoa_name.strip().lower()
        if lsoa_name:
            for name, area in former.items():
                if lsoa_name.startswith(name + " "):
                    return area
            return ""
        return current if current in former.values() else ""
    if not district_code:
        return data.by_district_name.get(district_name.strip().lower(), "")
    return ""
