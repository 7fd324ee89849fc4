"""Issue 19: finance exports. Every payment of a chosen period and state with payee, reference,
programme, cohort and cost code, as XLSX (opened here with openpyxl; totals equal the
database's) and CSV (the one formula-safe writer, UTF-8 with BOM); the commitments still to pay
per cohort; cost codes on programmes and cohorts, kept by their staff and finance."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from openpyxl import load_workbook

from grants import payees, payments, programme_finance
from grants.models import Application, Payment
from partnerships.models import Cohort, Programme
from tests.grants.test_finance_pages import BANK

S = Application.Status
P = Payment.Status


@pytest.fixture
def paid(application_in, lead_alice, school_a, finance_fay, cohort, programme):
    """An approved grant of £4,000: the first instalment (£2,000) paid in two transfers."""
    application = application_in(S.APPROVED, released=True)
    payees.payee_save(school_id=school_a.pk, by=lead_alice, data=BANK)
    first = application.payments.get(sequence=1)
    for amount, ref in (("1500.00", "BACS-1"), ("500.00", "BACS-2")):
        payments.payment_record(
            payment_id=first.pk, by=finance_fay, amount=amount, paid_on=date.today(), reference=ref
        )
    programme_finance.cost_codes_save(
        programme_id=programme.pk,
        by=finance_fay,
        programme_code="GR-ENT",
        cohort_codes={cohort.pk: "GR-ENT/26"},
    )
    return application


def _workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    return rows[0], rows[1:-1], rows[-1]


def test_the_xlsx_opens_and_its_totals_equal_the_database(client, paid, finance_fay):
    client.force_login(finance_fay)
    header, rows, total = _workbook(client.get(reverse("grants:payments_xlsx")))
    db = Payment.objects.aggregate(a=Sum("amount"), p=Sum("paid_amount"))
    col = {name: i for i, name in enumerate(header)}
    assert len(rows) == Payment.objects.count()
    assert sum(Decimal(str(r[col["amount_gbp"]])) for r in rows) == db["a"] == Decimal("4000.00")
    assert Decimal(str(total[col["amount_gbp"]])) == db["a"]
    assert Decimal(str(total[col["paid_gbp"]])) == db["p"] == Decimal("2000.00")
    first = next(r for r in rows if r[col["instalment"]] == 1)
    assert first[col["payment_references"]] == "BACS-1 BACS-2"
    assert first[col["cost_code"]] == "GR-ENT/26"
    assert first[col["programme"]] == paid.cohort.programme.name
    assert first[col["cohort"]] == str(paid.cohort)
    assert first[col["bank_account_number"]] == "12345678"
    assert first[col["payee_finance_contact"]] == "Sam Bursar"


def test_no_xlsx_cell_is_a_formula(client, paid, finance_fay):
    partnership = paid.partnership
    partnership.name = '=HYPERLINK("http://x") – £'
    partnership.save()
    client.force_login(finance_fay)
    response = client.get(reverse("grants:payments_xlsx"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [c for row in sheet.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert any(c.value == partnership.name for c in cells)  # kept as text, £ and – intact


def test_the_csv_round_trips_pound_and_dash_with_a_bom_and_no_formula(client, paid, finance_fay):
    Programme.objects.filter(pk=paid.cohort.programme_id).update(name="+ENTHUSE – £ fund")
    client.force_login(finance_fay)
    body = client.get(reverse("grants:payments_csv")).content
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["programme"] for r in rows} == {"'+ENTHUSE – £ fund"}
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())
    assert {r["cost_code"] for r in rows} == {"GR-ENT/26"}
    assert sum(Decimal(r["paid_gbp"]) for r in rows) == Decimal("2000.00")


def test_the_period_and_state_choose_the_payments(client, paid, finance_fay):
    client.force_login(finance_fay)
    today = date.today()
    url = reverse("grants:payments_csv")

    def refs(**query):
        body = client.get(url, {"clear": "", **query}).content.decode("utf-8-sig")
        return sorted(int(r["instalment"]) for r in csv.DictReader(io.StringIO(body)))

    assert refs(status="paid", date_from=today.isoformat(), date_to=today.isoformat()) == [1]
    assert refs(status="scheduled") == [2]
    assert refs(date_from=(today + timedelta(days=1)).isoformat()) == []
    assert refs(date_to=(today - timedelta(days=1)).isoformat()) == []
    response = client.get(
        url, {"date_from": today.isoformat(), "date_to": (today - timedelta(days=1)).isoformat()}
    )
    assert response.status_code == 400
    assert "before its start" in response.content.decode()


def test_staffs_export_has_no_bank_columns(client, paid, staff_carol):
    client.force_login(staff_carol)
    header, _rows, _total = _workbook(client.get(reverse("grants:payments_xlsx")))
    assert "bank_account_number" not in header
    assert "12345678" not in client.get(reverse("grants:payments_csv")).content.decode("utf-8-sig")


def test_commitments_still_to_pay_add_up_per_cohort(client, paid, finance_fay, cohort):
    client.force_login(finance_fay)
    header, rows, total = _workbook(
        client.get(reverse("grants:commitments_export", args=[cohort.pk, "xlsx"]))
    )
    col = {name: i for i, name in enumerate(header)}
    (row,) = rows
    assert Decimal(str(row[col["awarded_gbp"]])) == Decimal("4000.00")
    assert Decimal(str(row[col["paid_gbp"]])) == Decimal("2000.00")
    assert Decimal(str(row[col["still_to_pay_gbp"]])) == Decimal("2000.00")
    assert Decimal(str(row[col["scheduled_to_pay_gbp"]])) == Decimal("2000.00")
    assert Decimal(str(total[col["still_to_pay_gbp"]])) == Decimal("2000.00")
    body = client.get(reverse("grants:commitments_export", args=[cohort.pk, "csv"])).content.decode(
        "utf-8-sig"
    )
    (csv_row,) = csv.DictReader(io.StringIO(body))
    assert csv_row["still_to_pay_gbp"] == "2000.00"
    assert csv_row["cost_code"] == "GR-ENT/26"


def test_a_part_paid_released_instalment_counts_what_is_left(paid, finance_fay, cohort):
    first = paid.payments.get(sequence=1)
    Payment.objects.filter(pk=first.pk).update(status=P.RELEASED, paid_at=None)
    (c,) = payments.commitments(cohort)
    assert (c.paid, c.released_to_pay, c.scheduled_to_pay) == (
        Decimal("2000.00"),
        Decimal("0.00"),
        Decimal("2000.00"),
    )
    assert c.paid + c.cancelled + c.still_to_pay == c.awarded


def test_commitments_of_an_unknown_format_are_404(client, paid, finance_fay, cohort):
    client.force_login(finance_fay)
    assert client.get(reverse("grants:commitments_export", args=[cohort.pk, "pdf"])).status_code == 404


# --- Cost codes ---------------------------------------------------------------------------------


def test_a_cohort_without_its_own_cost_code_uses_the_programmes(cohort, programme, finance_fay):
    programme_finance.cost_codes_save(
        programme_id=programme.pk, by=finance_fay, programme_code="GR-1", cohort_codes={}
    )
    assert Cohort.objects.get(pk=cohort.pk).effective_cost_code == "GR-1"


@pytest.mark.parametrize("code", ["=1+1", "-GR", "GR 1", "x" * 41, "GR£"])
def test_a_bad_cost_code_is_refused(programme, finance_fay, code):
    with pytest.raises(ValidationError) as exc:
        programme_finance.cost_codes_save(
            programme_id=programme.pk, by=finance_fay, programme_code=code, cohort_codes={}
        )
    assert "cost_code" in exc.value.message_dict
    assert Programme.objects.get(pk=programme.pk).cost_code == ""


def test_the_database_refuses_a_cost_code_that_could_be_a_formula(programme):
    with pytest.raises(IntegrityError), transaction.atomic():
        Programme.objects.filter(pk=programme.pk).update(cost_code="=cmd")


def test_staff_of_another_programme_and_leads_cannot_set_cost_codes(
    programme, other_staff, lead_alice, staff_carol
):
    for user in (other_staff, lead_alice):
        with pytest.raises(PermissionDenied):
            programme_finance.cost_codes_save(
                programme_id=programme.pk, by=user, programme_code="X", cohort_codes={}
            )
    programme_finance.cost_codes_save(
        programme_id=programme.pk, by=staff_carol, programme_code="X", cohort_codes={}
    )
    assert Programme.objects.get(pk=programme.pk).cost_code == "X"
