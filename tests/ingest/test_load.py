"""The loader against a real Postgres: nothing lost, exactly once, unusable deliveries change nothing."""

import csv
import datetime as dt
import hashlib
import shutil

import pytest

from ingestion import contract
from ingestion.load import DeliveryError, load_delivery, load_pending
from tests.deliveries import copy_days, raw_counts, rewrite_control
from warehouse.schema import ensure_schema


def test_every_line_is_loaded_or_quarantined_and_reruns_change_nothing(tiny_bank, tmp_path, settings, conn):
    landing = copy_days(tiny_bank, tmp_path / "landing")
    results = load_pending(settings, dt.date(2026, 12, 31))
    assert [r.status for r in results] == ["loaded"] * 3
    lines_in = sum(len((f / s.file_name).read_bytes().splitlines()) - 1
                   for f in landing.iterdir() for s in contract.SOURCE_FILES)
    assert sum(r.rows_loaded + r.rows_quarantined for r in results) == lines_in
    assert sum(raw_counts(conn).values()) == sum(r.rows_loaded for r in results)
    before = raw_counts(conn)
    assert load_pending(settings, dt.date(2026, 12, 31)) == []  # nothing pending: same control files
    with conn.cursor() as cur:
        cur.execute("select count(*) from audit.deliveries")
        assert cur.fetchone()[0] == 3
    assert raw_counts(conn) == before


def test_only_deliveries_up_to_the_logical_date_load(tiny_bank, tmp_path, settings, conn):
    copy_days(tiny_bank, tmp_path / "landing", days=3)
    results = load_pending(settings, dt.date(2026, 7, 2))
    assert [r.business_date for r in results] == [dt.date(2026, 7, 1), dt.date(2026, 7, 2)]


def test_a_bad_row_is_quarantined_with_its_rule_and_line(tiny_bank, tmp_path, settings, conn):
    landing = copy_days(tiny_bank, tmp_path / "landing", days=1)
    folder = next(landing.iterdir())
    path = folder / "deposit_balances.csv"
    lines = path.read_text().splitlines()
    account = lines[2].split(",")[0]
    lines[2] = f"{account},not-a-number,0.2000"
    path.write_text("\n".join(lines) + "\n")
    rewrite_control(folder)  # amount total no longer checkable: one amount is unreadable
    result = load_pending(settings, dt.date(2026, 7, 1))[0]
    deposit = next(f for f in result.files if f.file_name == "deposit_balances.csv")
    assert deposit.rows_quarantined == 1
    assert deposit.rows_loaded == deposit.rows_read - 1
    with conn.cursor() as cur:
        cur.execute("select file_name, line_number, rule, raw_line from audit.quarantined_rows")
        assert cur.fetchall() == [("deposit_balances.csv", 3, "numeric", f"{account},not-a-number,0.2000")]


@pytest.mark.parametrize("damage, rule", [
    ("missing_control", "control_file_present"),
    ("wrong_header", "header_matches_contract"),
    ("truncated", "checksum_matches_control"),
    ("count_mismatch", "row_count_matches_control"),
    ("total_mismatch", "amount_total_matches_control"),
    ("wrong_date", "business_date_matches_folder"),
    ("bad_encoding", "declared_encoding"),
])
def test_an_unusable_delivery_fails_by_name_and_leaves_the_warehouse_unchanged(
        tiny_bank, tmp_path, settings, conn, damage, rule):
    landing = copy_days(tiny_bank, tmp_path / "landing", days=2)
    load_pending(settings, dt.date(2026, 7, 1))
    before = raw_counts(conn)
    folder = landing / "2026-07-02"
    control = folder / contract.CONTROL_FILE
    balances = folder / "deposit_balances.csv"
    if damage == "missing_control":
        control.unlink()
    elif damage == "wrong_header":
        balances.write_text(balances.read_text().replace("balance_cny", "balance", 1))
        rewrite_control(folder)
    elif damage == "truncated":
        balances.write_bytes(balances.read_bytes()[:-40])
    elif damage == "count_mismatch":
        balances.write_text("\n".join(balances.read_text().splitlines()[:-1]) + "\n")
        text = control.read_text().splitlines()
        text = [ln if ln.split(",")[1] != "deposit_balances.csv" else
                ",".join(ln.split(",")[:5] + [hashlib.sha256(balances.read_bytes()).hexdigest()]) for ln in text]
        control.write_text("\n".join(text) + "\n")
    elif damage == "total_mismatch":
        text = control.read_text().splitlines()
        text = [ln if ln.split(",")[1] != "deposit_balances.csv" else
                ",".join(ln.split(",")[:4] + ["1.00"] + ln.split(",")[5:]) for ln in text]
        control.write_text("\n".join(text) + "\n")
    elif damage == "wrong_date":
        control.write_text(control.read_text().replace("2026-07-02", "2026-07-03"))
    elif damage == "bad_encoding":
        accounts = folder / "accounts.csv"
        accounts.write_bytes(accounts.read_bytes() + b"A999,\xff\xfe,broken\n")
        rewrite_control(folder)
    with pytest.raises(DeliveryError) as failure:
        load_pending(settings, dt.date(2026, 7, 2))
    assert failure.value.rule == rule
    assert str(folder) in str(failure.value)
    assert raw_counts(conn) == before
    with conn.cursor() as cur:
        cur.execute("select business_date from audit.deliveries")
        assert cur.fetchall() == [(dt.date(2026, 7, 1),)]


def test_a_corrected_redelivery_replaces_the_date(tiny_bank, tmp_path, settings, conn):
    landing = copy_days(tiny_bank, tmp_path / "landing", days=1)
    load_pending(settings, dt.date(2026, 7, 1))
    folder = next(landing.iterdir())
    path = folder / "transactions.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-5]) + "\n")  # the bank re-sends the day without five transactions
    control = folder / contract.CONTROL_FILE
    rows = list(csv.DictReader(control.open()))
    kept = lines[1:-5]
    for row in rows:
        if row["file_name"] == "transactions.csv":
            row["row_count"] = str(len(kept))
            row["amount_total"] = f"{sum(round(float(x.split(',')[5]) * 100) for x in kept) / 100:.2f}"
            row["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    with control.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=contract.CONTROL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    [result] = load_pending(settings, dt.date(2026, 7, 1))
    assert result.status == "replaced"
    with conn.cursor() as cur:
        cur.execute("select count(*), count(distinct batch_id) from raw.transactions")
        assert cur.fetchone() == (len(kept), 1)


def test_the_schema_can_be_created_twice(conn):
    ensure_schema(conn)
    ensure_schema(conn)
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("select count(*) from information_schema.tables where table_schema = 'raw'")
        assert cur.fetchone()[0] == len(contract.SOURCE_FILES)


def test_load_delivery_names_a_folder_that_is_not_a_date(tmp_path, conn):
    (tmp_path / "latest").mkdir()
    ensure_schema(conn)
    with pytest.raises(DeliveryError, match="delivery_folder_name"):
        load_delivery(conn, tmp_path / "latest")


def test_a_late_day_holds_back_later_days_so_raw_does_not_depend_on_arrival_order(tiny_bank, tmp_path, settings,
                                                                                  conn):
    """Day 2 arrives after day 3: day 3 waits, then both load in date order; day 3 repeats a day-1
    transaction, which the earliest date keeps. The result equals loading everything in order."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=3)
    day1, day2, day3 = sorted(landing.iterdir())
    repeated = (day1 / "transactions.csv").read_text().splitlines()[1]
    lines = (day3 / "transactions.csv").read_text().splitlines()
    (day3 / "transactions.csv").write_text("\n".join([*lines, repeated]) + "\n")
    rewrite_control(day3)
    held_back = tmp_path / "held_back"
    shutil.move(day2, held_back)

    assert [r.business_date for r in load_pending(settings, dt.date(2026, 7, 3))] == [dt.date(2026, 7, 1)]
    shutil.move(held_back, day2)
    assert [r.business_date for r in load_pending(settings, dt.date(2026, 7, 3))] == [dt.date(2026, 7, 2),
                                                                                       dt.date(2026, 7, 3)]

    def state(cur):
        cur.execute("select business_date, transaction_id, amount_cny from raw.transactions order by 1, 2")
        rows = cur.fetchall()
        cur.execute("select business_date, file_name, rule from audit.quarantined_rows order by 1, 2")
        return rows, cur.fetchall()

    with conn.cursor() as cur:
        arrived_late = state(cur)
    assert arrived_late[1] == [(dt.date(2026, 7, 3), "transactions.csv", "unique_key_across_deliveries")]

    import psycopg2

    from warehouse.cli import scratch_database

    with scratch_database("bank_test") as other_url:
        other = settings.__class__.from_env({"WAREHOUSE_URL": other_url, "BANK_LANDING_DIR": str(landing)})
        load_pending(other, dt.date(2026, 7, 3))
        with psycopg2.connect(other.warehouse_url) as connection, connection.cursor() as cur:
            assert state(cur) == arrived_late


def _raw_and_quarantine(conn):
    with conn.cursor() as cur:
        cur.execute("select account_id, balance_cny, interest_rate_pct, business_date, source_file "
                    "from raw.deposit_balances order by 1, 4")
        raw = cur.fetchall()
        cur.execute("select business_date, file_name, line_number, rule, raw_line from audit.quarantined_rows "
                    "order by 1, 2, 3")
        quarantined = cur.fetchall()
    conn.rollback()  # a reader holding a transaction open on raw would hold back the re-delivery
    return raw, quarantined


def test_clean_files_are_copied_whole_and_a_damaged_file_gives_the_same_rows_line_by_line(
        tiny_bank, tmp_path, settings, conn):
    """The fast way (the bank's bytes, checked whole in Arrow) and the slow way (line by line) load the
    same rows: a day-2 deposit file with one bad line goes the slow way, and every other line is in raw."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=2)
    results = load_pending(settings, dt.date(2026, 7, 2))
    assert all(f.fast_path for r in results for f in r.files if f.rows_read), "clean files go the fast way"
    clean_raw, _ = _raw_and_quarantine(conn)

    day2 = landing / "2026-07-02"
    path = day2 / "deposit_balances.csv"
    lines = path.read_text().splitlines()
    bad_line = "A999999999,1O0.00,0.2000"  # not a number
    path.write_text("\n".join([*lines[:3], bad_line, *lines[3:]]) + "\n")
    rewrite_control(day2)
    [result] = load_pending(settings, dt.date(2026, 7, 2))
    deposit = next(f for f in result.files if f.file_name == "deposit_balances.csv")
    assert result.status == "replaced" and not deposit.fast_path
    raw, quarantined = _raw_and_quarantine(conn)
    assert raw == clean_raw
    assert quarantined == [(dt.date(2026, 7, 2), "deposit_balances.csv", 4, "numeric", bad_line)]


def test_a_corrected_redelivery_reloads_the_later_dates_in_order(tiny_bank, tmp_path, settings, conn):
    """Day 1 is re-sent with a transaction that day 3 also has: day 1 now keeps it and day 3's copy is
    quarantined, exactly as if the corrected day 1 had come first."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=3)
    load_pending(settings, dt.date(2026, 7, 3))
    day1, _, day3 = sorted(landing.iterdir())
    moved = (day3 / "transactions.csv").read_text().splitlines()[1]
    lines = (day1 / "transactions.csv").read_text().splitlines()
    (day1 / "transactions.csv").write_text("\n".join([*lines, moved]) + "\n")
    rewrite_control(day1)
    results = load_pending(settings, dt.date(2026, 7, 3))
    assert [(r.business_date.day, r.status) for r in results] == [(1, "replaced"), (2, "replaced"), (3, "replaced")]
    with conn.cursor() as cur:
        cur.execute("select business_date, rule, raw_line from audit.quarantined_rows")
        assert cur.fetchall() == [(dt.date(2026, 7, 3), "unique_key_across_deliveries", moved)]
        cur.execute("select business_date from raw.transactions where transaction_id = %s", (moved.split(",")[0],))
        assert cur.fetchall() == [(dt.date(2026, 7, 1),)]
        cur.execute("select count(*) from audit.deliveries where status = 'replaced'")
        assert cur.fetchone()[0] == 3


def test_a_quarantined_master_line_makes_its_references_in_the_same_delivery_orphans(
        tiny_bank, tmp_path, settings, conn):
    """Files are checked ahead of the load against the master keys as delivered; when a master line is
    quarantined, the later files of the same delivery are checked again against what loaded: the
    customer's accounts are quarantined as unknown references (masters wait for what they reference),
    those accounts' balances load against inferred members, registered as unresolved."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=1)
    folder = next(landing.iterdir())
    path = folder / "customers.csv"
    lines = path.read_bytes().decode("gbk").splitlines()
    header = lines[0].split(",")
    accounts = list(csv.DictReader((folder / "accounts.csv").read_text().splitlines()))
    owners = {a["customer_id"] for a in accounts}
    number, line = next((n, ln) for n, ln in enumerate(lines[1:], start=2) if ln.split(",")[0] in owners)
    fields = line.split(",")
    customer_id = fields[0]
    fields[header.index("birth_date")] = "1990-02-30"  # an impossible date: the line is quarantined
    lines[number - 1] = ",".join(fields)
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    rewrite_control(folder)
    [result] = load_pending(settings, dt.date(2026, 7, 1))
    orphans = {a["account_id"] for a in accounts if a["customer_id"] == customer_id}
    with conn.cursor() as cur:
        cur.execute("select file_name, rule, split_part(raw_line, ',', 1) from audit.quarantined_rows")
        quarantined = cur.fetchall()
    assert ("customers.csv", "valid_date", customer_id) in quarantined
    assert {k for f, r, k in quarantined if f == "accounts.csv" and r == "known_reference"} == orphans
    balances = [b for b in csv.DictReader((folder / "deposit_balances.csv").read_text().splitlines())
                if b["account_id"] in orphans]
    assert balances, "the customer's accounts should have balances that day"
    assert not [q for q in quarantined if q[0] == "deposit_balances.csv"]
    with conn.cursor() as cur:
        cur.execute("select referenced_key from audit.unresolved_references where file_name = 'deposit_balances.csv'")
        assert {k for (k,) in cur.fetchall()} == {b["account_id"] for b in balances}
    assert sum(f.rows_read for f in result.files) == sum(f.rows_loaded + f.rows_quarantined for f in result.files)
    assert all(f.fast_path for f in result.files if f.rows_read and not f.rows_quarantined), \
        "a file with nothing to quarantine is still copied whole after a master file lost a line"


def test_a_load_waits_for_a_transform_in_progress_and_commits_after_it(tiny_bank, tmp_path, settings, conn):
    """No delivery commits while dbt or the history replay reads raw (warehouse.db.transform_lock)."""
    import threading
    import time

    from warehouse.db import transform_lock

    copy_days(tiny_bank, tmp_path / "landing", days=1)
    errors: list[BaseException] = []

    def load() -> None:
        try:
            load_pending(settings, dt.date(2026, 7, 1))
        except BaseException as err:  # reported by the test below
            errors.append(err)

    def deliveries() -> int:
        with conn.cursor() as cur:
            cur.execute("select count(*) from audit.deliveries")
            count = cur.fetchone()[0]
        conn.rollback()
        return count

    ensure_schema(conn)
    conn.commit()
    with transform_lock(settings):
        loading = threading.Thread(target=load)
        loading.start()
        waiting = False
        for _ in range(600):  # the load's session shows up waiting on the advisory lock
            with conn.cursor() as cur:
                cur.execute("select count(*) from pg_stat_activity where datname = current_database() "
                            "and wait_event_type = 'Lock' and wait_event = 'advisory'")
                waiting = cur.fetchone()[0] == 1
            conn.rollback()
            if waiting or not loading.is_alive():
                break
            time.sleep(0.1)
        assert waiting, "the load should wait for the transform"
        assert deliveries() == 0
    loading.join(timeout=120)
    assert not errors, errors
    assert deliveries() == 1


def test_control_characters_inside_a_field_are_data_whichever_way_the_file_goes(tiny_bank, tmp_path, settings,
                                                                              conn):
    """Characters that str.splitlines() takes for line breaks stay inside their field, both when the
    file is copied whole and when another line's quoted field sends it line by line."""
    name = "Wang\x1c\x1d\x1e\x0b\x0c\x85\u2028\u2029Li"
    for quoted in (False, True):
        landing = copy_days(tiny_bank, tmp_path / f"landing_{quoted}", days=1)
        folder = next(landing.iterdir())
        path = folder / "relationship_managers.csv"
        lines = path.read_text(encoding="utf-8").split("\n")
        fields = lines[1].split(",")
        fields[1] = name
        lines[1] = ",".join(fields)
        if quoted:
            other = lines[2].split(",")
            other[1] = f'"{other[1]}"'
            lines[2] = ",".join(other)
        path.write_bytes("\n".join(lines).encode("utf-8"))
        rewrite_control(folder)
        database = settings.__class__.from_env({"WAREHOUSE_URL": settings.warehouse_url,
                                                "BANK_LANDING_DIR": str(landing)})
        [result] = load_pending(database, dt.date(2026, 7, 1))
        rms = next(f for f in result.files if f.file_name == "relationship_managers.csv")
        assert (rms.rows_quarantined, rms.fast_path) == (0, not quoted)
        with conn.cursor() as cur:
            cur.execute("select rm_name from raw.relationship_managers where rm_id = %s", (fields[0],))
            assert cur.fetchall() == [(name,)]
            cur.execute("drop schema raw cascade; drop schema audit cascade")
        conn.commit()


def test_two_loads_started_at_once_load_each_delivery_once(tiny_bank, tmp_path, settings, conn):
    """On an empty warehouse, two loads of the same deliveries started together: one waits for the
    other (schema and deliveries alike) and then skips what it loaded, instead of failing on the schema
    or loading every delivery again as 'replaced'."""
    import threading

    copy_days(tiny_bank, tmp_path / "landing", days=3)
    barrier = threading.Barrier(2)
    outcomes: list = []

    def load() -> None:
        barrier.wait()
        try:
            outcomes.append([r.status for r in load_pending(settings, dt.date(2026, 7, 3))])
        except BaseException as err:  # reported by the assertion below
            outcomes.append(err)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    statuses = sorted(s for o in outcomes for s in o)
    assert statuses.count("loaded") == 3 and "replaced" not in statuses, outcomes
    with conn.cursor() as cur:
        cur.execute("select business_date, batch_id, status from audit.deliveries order by 1")
        assert [(b, s) for _, b, s in cur.fetchall()] == [(1, "loaded"), (2, "loaded"), (3, "loaded")]


def test_a_redelivery_loaded_by_a_run_for_its_own_date_still_reloads_the_later_dates(tiny_bank, tmp_path, settings,
                                                                                     conn):
    """A corrected day 1 loaded by a run for 2026-07-01 (an operator re-running that date) leaves days 2
    and 3 stale; the next run up to day 3 finds them pending and loads them again after day 1."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=3)
    load_pending(settings, dt.date(2026, 7, 3))
    day1 = landing / "2026-07-01"
    lines = (day1 / "deposit_balances.csv").read_text().splitlines()
    fields = lines[1].split(",")
    fields[1] = f"{float(fields[1]) + 1000:.2f}"
    lines[1] = ",".join(fields)
    (day1 / "deposit_balances.csv").write_text("\n".join(lines) + "\n")
    rewrite_control(day1)
    assert [(r.business_date.day, r.status) for r in load_pending(settings, dt.date(2026, 7, 1))] == [(1, "replaced")]
    results = load_pending(settings, dt.date(2026, 7, 3))
    assert [(r.business_date.day, r.status) for r in results] == [(2, "replaced"), (3, "replaced")]
    assert load_pending(settings, dt.date(2026, 7, 3)) == []
    with conn.cursor() as cur:
        cur.execute("select business_date, batch_id from audit.deliveries order by 1")
        batches = [b for _, b in cur.fetchall()]
    assert batches == sorted(batches), "raw is built in date order again"


def test_a_file_read_in_chunks_and_blocks_loads_as_it_does_whole(tiny_bank, tmp_path, settings, conn, monkeypatch):
    """Both ways read a file a piece at a time. With pieces of a few rows: a clean file still goes the
    fast way whole, a key met again many chunks later is a duplicate, and a row whose quoted field
    spans two lines keeps every later line number right."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=2)
    load_pending(settings, dt.date(2026, 7, 2))
    clean_raw, _ = _raw_and_quarantine(conn)

    monkeypatch.setattr("ingestion.load.COPY_CHUNK_ROWS", 5)
    monkeypatch.setattr("ingestion.load.READ_BLOCK_BYTES", 64)
    monkeypatch.setattr("ingestion.rules.ARROW_BLOCK_BYTES", 256)
    day2 = landing / "2026-07-02"
    path = day2 / "deposit_balances.csv"
    control = day2 / contract.CONTROL_FILE  # a re-delivery of the same files: its control lines in another order
    head, *entries = control.read_text().splitlines()
    control.write_text("\n".join([head, *reversed(entries)]) + "\n")
    [result] = load_pending(settings, dt.date(2026, 7, 2))
    assert result.status == "replaced"
    assert all(f.fast_path for f in result.files if f.rows_read), "clean files read in blocks go the fast way"
    assert _raw_and_quarantine(conn) == (clean_raw, [])

    lines = path.read_text().splitlines()
    split = '"A0000\n00001",1.00,0.2000'  # a quoted id with a line break: one row over lines 4-5, code_format
    path.write_text("\n".join([*lines[:3], split, *lines[3:], lines[1]]) + "\n")  # and line 2 again at the end
    rewrite_control(day2)
    control.write_text(control.read_text().replace(  # rows, not physical lines: one row spans two
        f"deposit_balances.csv,utf-8,{len(lines) + 2},", f"deposit_balances.csv,utf-8,{len(lines) + 1},"))
    [result] = load_pending(settings, dt.date(2026, 7, 2))
    deposit = next(f for f in result.files if f.file_name == "deposit_balances.csv")
    assert not deposit.fast_path and deposit.rows_read == len(lines) + 1
    raw, quarantined = _raw_and_quarantine(conn)
    assert raw == clean_raw
    assert [(q[2], q[3], q[4]) for q in quarantined] == [
        (4, "code_format", split), (len(lines) + 3, "unique_key_in_file", lines[1])]


def test_memory_does_not_follow_the_size_of_the_file(tiny_bank, tmp_path, settings, conn):
    """A large file with a bad line goes the slow way a chunk at a time: the Python memory the load
    allocates is the same for a file four times larger (it was 7.6 times the file's size when the file
    was held whole, split into lines and rows)."""
    import tracemalloc

    day = copy_days(tiny_bank, tmp_path / "landing", days=1) / "2026-07-01"
    path = day / "transactions.csv"
    header, *lines = path.read_text().splitlines()
    key = contract.BY_FILE_NAME["transactions.csv"].column_names.index("transaction_id")
    rows = [line.split(",") for line in lines]
    peaks = {}
    for wanted in (60_000, 240_000):
        copies = [",".join(f"{v}{copy:06d}" if i == key else v for i, v in enumerate(row))
                  for copy in range(wanted // len(rows) + 1) for row in rows]
        copies[7] = copies[7].replace(",", ";", 1)  # one bad line: the whole file goes line by line
        path.write_text("\n".join([header, *copies]) + "\n")
        rewrite_control(day)
        del copies
        tracemalloc.start()
        try:
            [result] = load_pending(settings, dt.date(2026, 7, 1))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        transactions = next(f for f in result.files if f.file_name == "transactions.csv")
        assert not transactions.fast_path and transactions.rows_quarantined == 1
        assert transactions.rows_read >= wanted
        peaks[path.stat().st_size] = peak
    (small, small_peak), (large, large_peak) = sorted(peaks.items())
    print(f"peak Python memory: {small / 1e6:.1f} MB file {small_peak / 1e6:.1f} MB, "
          f"{large / 1e6:.1f} MB file {large_peak / 1e6:.1f} MB")
    assert large_peak - small_peak < 0.1 * (large - small)
