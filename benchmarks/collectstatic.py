"""collectstatic for the benchmark server (DEBUG off: whitenoise's manifest storage).

The vendored Bootstrap and Chart.js files end with `sourceMappingURL=....map` comments, but
the .map files are not vendored, so a plain `manage.py collectstatic` with DEBUG off fails
("MissingFileError ... chart.umd.min.js.map"), and with it the docker-compose `web` start-up.
Until the vendored files lose those comments (see docs/performance.md), this collects with
the source-map patterns switched off: every other file is hashed and compressed as usual.

    python benchmarks/collectstatic.py        (with the environment of common.server_env)
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import setup_django


def main() -> None:
    setup_django("national")
    from django.contrib.staticfiles.storage import HashedFilesMixin
    from django.core.management import call_command

    HashedFilesMixin.patterns = tuple(
        (extension, tuple(p for p in patterns if "sourceMappingURL" not in str(p)))
        for extension, patterns in HashedFilesMixin.patterns
    )
    call_command("collectstatic", interactive=False, verbosity=0)
    print("Static files collected.")


if __name__ == "__main__":
    main()
