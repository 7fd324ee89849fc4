from tests.matrix import LOGIN, Row, expect

ROWS = [
    Row(
        "partnerships:lead_home",
        expect(anonymous=LOGIN, owner_lead=200, other_lead=200, other_staff=200, staff=200, admin=200),
    ),
]
