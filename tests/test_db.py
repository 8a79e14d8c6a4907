"""The frame readers and writers of warehouse.db round-trip what the models read and write."""

import datetime as dt

import numpy as np
import pandas as pd

from warehouse.db import read_frame, write_frame


def test_a_frame_written_by_copy_reads_back_the_same(conn):
    with conn.cursor() as cur:
        cur.execute("""create table frames (name text, day date, amount double precision, flag boolean,
                                            codes text[], count integer)""")
    written = pd.DataFrame({
        "name": ["plain", 'a "quoted", comma', "line\nbreak", "中文"],
        "day": [dt.date(2026, 7, 1)] * 4,
        "amount": [0.1234567890123, np.nan, -2.5, 1e9],
        "flag": [True, False, True, False],
        "codes": ["{low_p_active,outlier}", "{}", "{a}", "{}"],
        "count": np.array([1, 2, 3, 4]),
    })
    write_frame(conn, "frames", written)
    with conn.cursor() as cur:
        cur.execute("select amount is null, cardinality(codes) from frames order by count")
        assert cur.fetchall() == [(False, 2), (True, 0), (False, 1), (False, 0)]  # NaN is NULL
    back = read_frame(conn, "select name, amount, flag::int, count from frames where day = %s order by count",
                      (dt.date(2026, 7, 1),), {"name": str, "amount": "float64", "flag": "int64", "count": "int64"})
    assert back["name"].tolist() == written["name"].tolist()
    np.testing.assert_array_equal(back["amount"].to_numpy(), written["amount"].to_numpy())  # every digit
    assert back["flag"].tolist() == [1, 0, 1, 0] and back["count"].tolist() == [1, 2, 3, 4]
    assert read_frame(conn, "select name from frames where false", None, {"name": str}).empty
