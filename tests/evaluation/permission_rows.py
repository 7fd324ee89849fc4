from tests.matrix import STAFF_ONLY_GET, Row

ROWS = [
    Row("evaluation:dashboard", STAFF_ONLY_GET),
]
