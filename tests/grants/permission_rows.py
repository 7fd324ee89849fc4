from tests.matrix import STAFF_ONLY_GET, Row

ROWS = [
    Row("grants:review_queue", STAFF_ONLY_GET),
]
