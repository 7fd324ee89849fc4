from tests.matrix import LOGIN, Row, expect, expect_all

ROWS = [
    Row("home", expect(anonymous=302, owner_lead=302, other_lead=302, other_staff=302, staff=302, admin=302)),
    Row("healthz", expect_all(200)),
    Row("accessibility", expect_all(200)),
    # The public front door (issue 21): for everyone, signed in or not.
    Row("public:front_door", expect_all(200)),
    Row("public:eligibility_check", expect_all(200)),
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


# --- The second factor (portal/two_factor.py). The matrix's staff and admins have passed it
# (tests/conftest.py); tests/portal/test_two_factor.py covers sessions that have not.
ROWS += [
    # Already verified: on to the next page; a lead with no device is sent to set one up.
    Row("two_factor_verify", expect_all(302)),
    Row("two_factor_setup", expect_all(200, anonymous=LOGIN)),
    Row("two_factor_recovery", expect_all(200, anonymous=LOGIN)),
    Row(
        "two_factor_recovery",
        # Verified staff, finance and admins make new codes (302); a lead without a device is told to
        # set one up.
        expect(
            anonymous=LOGIN,
            owner_lead=400,
            other_lead=400,
            other_staff=302,
            staff=302,
            admin=302,
            finance=302,
        ),
        method="post",
    ),
]
