"""Opportunity Areas as data: the 12 areas by district code at designation, still found after
the districts were merged (Scarborough → North Yorkshire, West Somerset → Somerset)."""

import pytest

from partnerships import eligibility
from partnerships.gias import import_gias
from partnerships.models import School
from partnerships.opportunity_areas import areas, classify
from tests.factories import ProgrammeFactory
from tests.partnerships.test_gias_layouts import GIAS_2021, GIAS_2024, GIAS_2025, minimal_file, school_row

AREAS = {
    "Blackpool": ["E06000009"],
    "Bradford": ["E08000032"],
    "Derby": ["E06000015"],
    "Doncaster": ["E08000017"],
    "Fenland and East Cambridgeshire": ["E07000010", "E07000009"],
    "Hastings": ["E07000062"],
    "Ipswich": ["E07000202"],
    "North Yorkshire Coast": ["E07000168"],
    "Norwich": ["E07000148"],
    "Oldham": ["E08000004"],
    "Stoke-on-Trent": ["E06000021"],
    "West Somerset": ["E07000191"],
}


def test_the_data_file_defines_the_twelve_areas_by_district_code_with_its_source():
    data = areas()

    assert set(data.names) == set(AREAS)
    assert {code: area for area, codes in AREAS.items() for code in codes} == data.by_district_code
    assert "Department for Education" in data.source
    assert data.designated_on == "2017-01-18"


@pytest.mark.parametrize(("area", "code"), [(a, c) for a, codes in AREAS.items() for c in codes])
def test_each_designated_district_code_is_in_its_area(area, code):
    assert classify(district_code=code, district_name="whatever it is called now") == area


@pytest.mark.parametrize(
    ("district_code", "lsoa_name", "expected"),
    [
        ("E06000065", "Scarborough 008B", "North Yorkshire Coast"),  # North Yorkshire since 2023
        ("E06000065", "Harrogate 001A", ""),
        ("E07000246", "West Somerset 004A", "West Somerset"),  # Somerset West and Taunton, 2019
        ("E06000066", "West Somerset 004A", "West Somerset"),  # Somerset, 2023
        ("E06000066", "Taunton Deane 010C", ""),
        ("E06000066", "Mendip 003A", ""),
        ("E08000025", "Birmingham 060A", ""),
    ],
)
def test_a_merged_district_is_resolved_by_the_lsoa_the_census_named(district_code, lsoa_name, expected):
    assert classify(district_code=district_code, lsoa_name=lsoa_name) == expected


def test_without_an_lsoa_a_school_in_a_merged_district_keeps_the_area_it_had():
    assert classify(district_code="E06000065", current="North Yorkshire Coast") == "North Yorkshire Coast"
    assert classify(district_code="E06000065", current="") == ""
    assert classify(district_code="E06000065", current="Blackpool") == ""


def test_names_are_used_only_when_the_file_has_no_district_code():
    assert classify(district_name="Scarborough") == "North Yorkshire Coast"
    assert classify(district_code="E06000065", district_name="Scarborough") == ""


@pytest.mark.django_db
def test_a_school_in_a_merged_district_is_still_in_its_opportunity_area():
    import_gias(GIAS_2021)
    aspire = ProgrammeFactory(opportunity_areas_only=True, eligible_ofsted_ratings=[])

    import_gias(GIAS_2024)  # Scarborough's school now in North Yorkshire, West Somerset's in Somerset

    cedar, damson = School.objects.get(urn=100003), School.objects.get(urn=100004)
    assert (cedar.district_code, cedar.opportunity_area) == ("E06000065", "North Yorkshire Coast")
    assert (damson.district_code, damson.opportunity_area) == ("E06000066", "West Somerset")
    assert School.objects.get(urn=100007).opportunity_area == ""  # Taunton Deane, in Somerset too
    assert eligibility.ineligibility_reasons(cedar, aspire) == []
    assert eligibility.is_eligible(damson, aspire)
    assert not School.objects.filter(eligibility.eligible_schools_q(aspire), urn=100007).exists()


@pytest.mark.django_db
def test_the_2025_file_alone_classifies_the_merged_districts():
    import_gias(GIAS_2025)

    areas_by_urn = dict(School.objects.values_list("urn", "opportunity_area"))
    assert areas_by_urn == {
        100001: "Blackpool",
        100002: "Bradford",
        100003: "North Yorkshire Coast",
        100004: "West Somerset",
        100005: "",
        100006: "Blackpool",
        100007: "",
        100008: "Blackpool",
    }


@pytest.mark.django_db
def test_a_merged_district_without_lsoa_columns_keeps_the_schools_area(tmp_path):
    extra = ["DistrictAdministrative (code)", "LastChangedDate"]
    import_gias(minimal_file(tmp_path, [school_row(1, "Oak", "E07000168", "01-01-2022")], extra=extra))

    import_gias(
        minimal_file(tmp_path, [school_row(1, "Oak", "E06000065", "01-05-2023")], extra=extra, name="b.csv")
    )

    assert School.objects.get().opportunity_area == "North Yorkshire Coast"
