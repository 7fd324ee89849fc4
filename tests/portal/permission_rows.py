from tests.matrix import LOGIN, Row, expect, expect_all

ROWS = [
    Row("home", expect(anonymous=302, owner_lead=302, other_lead=302, other_staff=302, staff=302, admin=302)),
    Row("healthz", expect_all(200)),
    Row("account", expect_all(200, anonymous=LOGIN)),
    Row("login", expect_all(200)),
    Row("logout", expect_all(302), method="post"),
    Row("password_change", expect_all(200, anonymous=LOGIN)),
    Row("password_change_done", expect_all(200, anonymous=LOGIN)),
    Row("password_reset", expect_all(200)),
    Row("password_reset_done", expect_all(200)),
    Row(
        "password_reset_confirm",
        expect_all(200),
        args=lambda w: ["MQ", "set-password"],
        note="(invalid link shows a page)",
    ),
    Row("password_reset_complete", expect_all(200)),
]
