"""Locust users for the load benchmark: logged-in sessions mixing the three roles.

  leads   their home page and their application page
  staff   the review queue (page 1, and filtered to submitted applications of the largest cohort)
  admins  the cohort dashboard of the largest cohort and the dashboards index

Each simulated user logs in once (GET the login form, POST it with the CSRF token; staff and
admins then enter a single-use second-factor code made for the bench); the log-in requests are
reported under their own name. Which accounts and which pages come from
the JSON file named by BENCH_LOCUST_CONFIG (written by benchmarks/load.py from the bench data).

The portal runs with DEBUG off, so its cookies are marked Secure; the benchmark talks plain
HTTP on loopback, so the cookie jar is told to send Secure cookies over HTTP too.
"""

import itertools
import json
import os
import re
import time
from http.cookiejar import DefaultCookiePolicy

import gevent
from locust import HttpUser, between, events, task

CONFIG = json.loads(open(os.environ["BENCH_LOCUST_CONFIG"], encoding="utf-8").read())  # noqa: SIM115
PATHS = CONFIG["paths"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# Three phases. The log-ins (they hash passwords: slow on purpose, and they would swamp the first
# seconds). Then the ramp-up, BENCH_LOAD_SETTLE seconds from the last log-in: every user's first
# view of each of its pages is rendered (a page-cache miss), and those renders queue behind the
# log-ins' hashes; its figures are reported on their own (BENCH_RAMP_SUMMARY). Then the measured
# window, BENCH_LOAD_SECONDS of steady state: the figures the target is about.
USERS = int(os.environ["BENCH_LOAD_USERS"])
SECONDS = float(os.environ["BENCH_LOAD_SECONDS"])
SETTLE = float(os.environ.get("BENCH_LOAD_SETTLE") or 0)
_logged_in = 0
_started = time.monotonic()
_environment = None


@events.init.add_listener
def _keep_environment(environment, **kwargs):
    global _environment
    _environment = environment


def _figures(entry) -> dict:
    requests = entry.num_requests
    return {
        "requests": requests,
        "failures": entry.num_failures,
        "p50_ms": entry.get_response_time_percentile(0.5) if requests else None,
        "p95_ms": entry.get_response_time_percentile(0.95) if requests else None,
        "p99_ms": entry.get_response_time_percentile(0.99) if requests else None,
        "max_ms": entry.max_response_time if requests else None,
    }


def _one_more_logged_in():
    global _logged_in
    _logged_in += 1
    if _logged_in != USERS:
        return
    stats = _environment.runner.stats
    login = stats.get("login (POST)", "POST")
    summary = {
        "logins": _logged_in,
        "login_phase_s": time.monotonic() - _started,
        "login_median_ms": login.median_response_time,
        "login_max_ms": login.max_response_time,
        "login_failures": login.num_failures,
    }
    with open(os.environ["BENCH_LOGIN_SUMMARY"], "w", encoding="utf-8") as handle:
        json.dump(summary, handle)
    stats.reset_all()

    def finish():
        if SETTLE:
            gevent.sleep(SETTLE)
            ramp = {
                "seconds": SETTLE,
                "total": _figures(stats.total),
                "pages": {name: _figures(entry) for (name, _method), entry in stats.entries.items()},
            }
            ramp["total"]["rps"] = ramp["total"]["requests"] / SETTLE
            with open(os.environ["BENCH_RAMP_SUMMARY"], "w", encoding="utf-8") as handle:
                json.dump(ramp, handle)
            stats.reset_all()
        gevent.sleep(SECONDS)
        _environment.runner.quit()

    gevent.spawn(finish)


_leads = itertools.cycle(CONFIG["leads"])
_staff = itertools.cycle(CONFIG["staff"])
_admins = itertools.cycle(CONFIG["admins"])
_TOKENS = {username: list(codes) for username, codes in CONFIG.get("tokens", {}).items()}


def _send_secure_cookies_over_loopback_http(self, cookie, request):
    return True


# requests copies the session's cookies into fresh jars (default policy) for every request and
# redirect, so the policy is changed for the whole load-generator process.
DefaultCookiePolicy.return_ok_secure = _send_secure_cookies_over_loopback_http


class PortalUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)
    username = ""

    def on_start(self):
        form = self.client.get(PATHS["login"], name="login (form)")
        match = CSRF.search(form.text)
        with self.client.post(
            PATHS["login"],
            data={
                "username": self.username,
                "password": CONFIG["password"],
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": self.host + PATHS["login"]},
            name="login (POST)",
            catch_response=True,
        ) as response:
            if response.url.rstrip("/").endswith(PATHS["login"].rstrip("/")) or response.status_code != 200:
                response.failure(
                    f"log-in as {self.username} failed ({response.status_code} at {response.url})"
                )
            verify_url, verify_page = response.url, response.text
        if "/two-factor/" in verify_url:  # staff and admins: a single-use code of the bench's
            self.second_factor(verify_url, verify_page)
        _one_more_logged_in()

    def second_factor(self, url, page):
        match = CSRF.search(page)
        codes = _TOKENS.get(self.username) or []
        with self.client.post(
            url,
            data={
                "token": codes.pop() if codes else "",
                "csrfmiddlewaretoken": match.group(1) if match else "",
            },
            headers={"Referer": url},
            name="login (second factor)",
            catch_response=True,
        ) as response:
            if "/two-factor/" in response.url or response.status_code != 200:
                response.failure(f"second factor for {self.username} failed ({response.status_code})")

    def page(self, key, name, path=None):
        path = path or PATHS.get(key)
        if not path:
            return
        with self.client.get(path, name=name, catch_response=True) as response:
            if response.history or response.status_code != 200:
                response.failure(f"{response.status_code} after {len(response.history)} redirect(s)")


class Lead(PortalUser):
    weight = 5

    def on_start(self):
        account = next(_leads)
        self.username = account["username"]
        self.application_path = account["path"]
        super().on_start()

    @task(1)
    def home(self):
        self.page("lead_home", "lead: home")

    @task(2)
    def application(self):
        self.page("lead_application", "lead: application page", self.application_path)


class Staff(PortalUser):
    weight = 3

    def on_start(self):
        self.username = next(_staff)
        super().on_start()

    @task(2)
    def queue(self):
        self.page("review_queue", "staff: review queue")

    @task(2)
    def queue_filtered(self):
        self.page("review_queue_filtered", "staff: review queue, filtered")

    @task(1)
    def application(self):
        self.page("staff_application", "staff: application page")


class Admin(PortalUser):
    weight = 2

    def on_start(self):
        self.username = next(_admins)
        super().on_start()

    @task(3)
    def dashboard(self):
        self.page("dashboard", "admin: cohort dashboard")

    @task(1)
    def index(self):
        self.page("dashboard_index", "admin: dashboards index")
