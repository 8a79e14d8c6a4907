"""The history snapshots against the deliveries: every RM change dated on the day it was delivered,
when many days are loaded at once, and again after an old day is re-delivered with a correction."""

import csv
import datetime as dt
import json

from ingestion.load import load_pending
from tests.deliveries import copy_days, rewrite_control
from warehouse.history import SNAPSHOTS, replay_snapshots
from warehouse.transform import invoke_dbt

DAYS = 12


def _delivered_assignments(landing):
    """customer_id -> [(business date, rm_id)] at each change, read from the files themselves."""
    history: dict[str, list[tuple[dt.date, str]]] = {}
    for folder in sorted(landing.iterdir()):
        day = dt.date.fromisoformat(folder.name)
        text = (folder / "customers.csv").read_bytes().decode("gbk")
        for row in csv.DictReader(text.splitlines()):
            changes = history.setdefault(row["customer_id"], [])
            if not changes or changes[-1][1] != row["rm_id"]:
                changes.append((day, row["rm_id"]))
    return history


def _snapshot_assignments(conn):
    with conn.cursor() as cur:
        cur.execute("select customer_id, dbt_valid_from::date, rm_id, dbt_valid_to::date "
                    "from snapshots.snap_customer_assignments order by customer_id, dbt_valid_from")
        rows = cur.fetchall()
    conn.rollback()
    history: dict[str, list[tuple[dt.date, str]]] = {}
    for customer_id, valid_from, rm_id, valid_to in rows:
        versions = history.setdefault(customer_id, [])
        assert not versions or versions[-1][2] == valid_from, f"{customer_id}: a gap or overlap at {valid_from}"
        versions.append((valid_from, rm_id, valid_to))
    return {c: [(f, r) for f, r, _ in v] for c, v in history.items()}


def test_snapshots_date_every_change_on_its_delivery_and_rewind_for_a_correction(tiny_bank, tmp_path, settings,
                                                                                  conn):
    landing = copy_days(tiny_bank, tmp_path / "landing", days=DAYS)
    load_pending(settings, dt.date(2026, 7, DAYS))  # many days in one run, as a catch-up or backfill would
    assert len(replay_snapshots(settings)) == DAYS
    expected = _delivered_assignments(landing)
    assert any(len(changes) > 1 for changes in expected.values()), "the tiny bank should re-assign someone"
    assert _snapshot_assignments(conn) == expected
    assert replay_snapshots(settings) == []  # nothing new: nothing replayed

    # an early day is re-sent: one customer delivered that day now has another RM
    day = next(f for f in sorted(landing.iterdir())[2:] if len((f / "customers.csv").read_bytes().splitlines()) > 1)
    path = day / "customers.csv"
    lines = path.read_bytes().decode("gbk").splitlines()
    header = lines[0].split(",")
    fields = lines[1].split(",")
    customer_id, old_rm = fields[header.index("customer_id")], fields[header.index("rm_id")]
    fields[header.index("rm_id")] = next(r for c in expected.values() for _, r in c if r != old_rm)
    lines[1] = ",".join(fields)
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    rewrite_control(day)
    load_pending(settings, dt.date(2026, 7, DAYS))
    assert replay_snapshots(settings)[0] == dt.date.fromisoformat(day.name)
    corrected = _delivered_assignments(landing)
    assert corrected[customer_id] != expected[customer_id]
    assert _snapshot_assignments(conn) == corrected


def _snapshot_tables(conn) -> dict[str, list[tuple]]:
    with conn.cursor() as cur:
        tables = {}
        for snapshot in SNAPSHOTS:
            cur.execute(f"select * from snapshots.{snapshot.name} order by {snapshot.key}, dbt_valid_from")
            tables[snapshot.name] = cur.fetchall()
    conn.rollback()
    return tables


def test_the_set_based_replay_keeps_what_dbt_snapshot_keeps_date_by_date(tiny_bank, tmp_path, settings, conn):
    """The same deliveries, replayed in one pass per snapshot and by dbt's own ``dbt snapshot`` once per
    business date in order: the same versions, keys and dates, row for row."""
    copy_days(tiny_bank, tmp_path / "landing", days=DAYS)
    load_pending(settings, dt.date(2026, 7, DAYS))
    replay_snapshots(settings)
    replayed = _snapshot_tables(conn)
    assert all(replayed.values())
    assert any(len({row[0] for row in rows}) < len(rows) for rows in replayed.values()), "no key has two versions"

    with conn.cursor() as cur:
        for snapshot in SNAPSHOTS:
            cur.execute(f"drop table snapshots.{snapshot.name}")
    conn.commit()
    for day in range(1, DAYS + 1):
        invoke_dbt(["snapshot", "--vars", json.dumps({"snapshot_date": f"2026-07-{day:02d}"})], settings)
    assert _snapshot_tables(conn) == replayed
