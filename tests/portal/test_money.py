from decimal import Decimal

import pytest
from django.template import Context, Template

from portal.money import format_gbp, money


def test_money_rounds_half_up_to_the_penny():
    assert money("12000.005") == Decimal("12000.01")
    assert money(Decimal("0.004")) == Decimal("0.00")


def test_money_refuses_floats():
    with pytest.raises(TypeError):
        money(0.1)


def test_gbp_filter_formats_pounds_and_pence():
    rendered = Template("{{ a|gbp }} {{ b|gbp }} {{ c|gbp }}").render(
        Context({"a": Decimal("12000"), "b": Decimal("-5.5"), "c": None})
    )
    assert rendered == "£12,000.00 -£5.50 —"
    assert format_gbp("0") == "£0.00"
