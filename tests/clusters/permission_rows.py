from tests.matrix import STAFF_ONLY_GET, Row

ROWS = [
    Row("clusters:cluster_list", STAFF_ONLY_GET),
]
