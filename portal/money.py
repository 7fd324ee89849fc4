"""Money is Decimal, pence-exact, everywhere."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PENNY = Decimal("0.01")


def money(value) -> Decimal:
    """Round to the penny (half up), from a Decimal, int or string; never from float."""
    if isinstance(value, float):
        raise TypeError("money() refuses floats: pass a Decimal, int or string.")
    try:
        return Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"Not an amount of money: {value!r}") from None


def format_gbp(value) -> str:
    if value is None or value == "":
        return "—"
    amount = money(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"
