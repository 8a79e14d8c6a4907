"""The quarantine as a repair queue: what the bank later makes right is loaded, once, and audited."""

import csv
import dataclasses
import datetime as dt

from ingestion import contract
from ingestion.load import load_pending
from tests.deliveries import copy_days, rewrite_control


def _statuses(conn):
    with conn.cursor() as cur:
        cur.execute("select file_name, rule, status, count(*) from audit.quarantined_rows group by 1, 2, 3 "
                    "order by 1, 2, 3")
        rows = cur.fetchall()
    conn.rollback()
    return rows


def _revisions(conn):
    with conn.cursor() as cur:
        cur.execute("select business_date, batch_id, revision_batch_id from audit.deliveries order by 1")
        rows = cur.fetchall()
    conn.rollback()
    return rows


def test_a_late_master_loads_what_waited_for_it_and_revises_its_date(tiny_bank, tmp_path, settings, conn):
    """Day 1 delivers a customer with an impossible birth date: the customer line is quarantined, so are
    their accounts (a master waits for what it references), and the accounts' balances load against
    inferred members. Day 2 delivers the customer again, corrected: the day-1 customer line is
    superseded, the account lines are retried and loaded into day 1, once, the balances' references are
    resolved, and day 1 is revised by day 2's batch."""
    landing = copy_days(tiny_bank, tmp_path / "landing", days=2)
    day1, day2 = sorted(landing.iterdir())
    lines = (day1 / "customers.csv").read_bytes().decode("gbk").splitlines()
    header = lines[0].split(",")
    owners = {a["customer_id"] for a in csv.DictReader((day1 / "accounts.csv").read_text().splitlines())}
    number, good_line = next((n, ln) for n, ln in enumerate(lines[1:], start=1) if ln.split(",")[0] in owners)
    customer_id = good_line.split(",")[0]
    fields = good_line.split(",")
    fields[header.index("birth_date")] = "1990-02-30"
    lines[number] = ",".join(fields)
    (day1 / "customers.csv").write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    rewrite_control(day1)
    accounts = [a["account_id"] for a in csv.DictReader((day1 / "accounts.csv").read_text().splitlines())
                if a["customer_id"] == customer_id]

    load_pending(settings, dt.date(2026, 7, 1))
    assert _statuses(conn) == [("accounts.csv", "known_reference", "waiting", len(accounts)),
                               ("customers.csv", "valid_date", "waiting", 1)]
    day1_accounts = "select count(*) from raw.accounts where business_date = '2026-07-01'"
    with conn.cursor() as cur:
        cur.execute(day1_accounts)
        raw_accounts_before = cur.fetchone()[0]
    conn.rollback()

    day2_customers = (day2 / "customers.csv").read_bytes().decode("gbk").splitlines()
    (day2 / "customers.csv").write_bytes(("\n".join([*day2_customers, good_line]) + "\n").encode("gbk"))
    rewrite_control(day2)
    [result] = load_pending(settings, dt.date(2026, 7, 2))

    assert _statuses(conn) == [("accounts.csv", "known_reference", "retried", len(accounts)),
                               ("customers.csv", "valid_date", "superseded", 1)]
    with conn.cursor() as cur:
        cur.execute("select account_id, business_date, batch_id from raw.accounts where account_id = any(%s)",
                    (accounts,))
        assert sorted(cur.fetchall()) == sorted((a, dt.date(2026, 7, 1), result.batch_id) for a in accounts)
        cur.execute("select count(*), count(*) filter (where resolved_batch_id = %s) "
                    "from audit.unresolved_references where referenced_key = any(%s)", (result.batch_id, accounts))
        registered, resolved = cur.fetchone()
        assert registered > 0 and resolved == registered
        cur.execute("select business_date, rows_read, rows_loaded, rows_quarantined from audit.file_loads "
                    "where file_name = 'accounts.csv' and business_date = '2026-07-01'")
        [(_, read, loaded, quarantined)] = cur.fetchall()
        assert (read, quarantined) == (loaded, 0)
    conn.rollback()
    assert _revisions(conn) == [(dt.date(2026, 7, 1), 1, result.batch_id), (dt.date(2026, 7, 2), result.batch_id,
                                                                             result.batch_id)]
    # loaded once: nothing is pending, and a retry finds nothing more to load
    assert load_pending(settings, dt.date(2026, 7, 2)) == []
    from ingestion import quarantine

    assert quarantine.retry(conn) == (0, 0)
    with conn.cursor() as cur:
        cur.execute(day1_accounts)
        assert cur.fetchone()[0] == raw_accounts_before + len(accounts)


def _older_contract_without_atm(monkeypatch):
    """The contract as an earlier version had it: no 'atm' channel."""
    transactions = contract.TRANSACTIONS
    columns = tuple(dataclasses.replace(c, allowed=tuple(v for v in c.allowed if v != "atm"))
                    if c.name == "channel" else c for c in transactions.columns)
    older = dataclasses.replace(transactions, columns=columns)
    monkeypatch.setattr(contract, "SOURCE_FILES", tuple(older if s is transactions else s
                                                        for s in contract.SOURCE_FILES))
    monkeypatch.setattr(contract, "BY_FILE_NAME", {**contract.BY_FILE_NAME, older.file_name: older})
    monkeypatch.setattr(contract, "BY_NAME", {**contract.BY_NAME, older.name: older})


def test_the_command_line_lists_retries_and_releases_what_waits(tiny_bank, tmp_path, settings, conn, monkeypatch,
                                                               capsys):
    """Lines quarantined under an older contract (no 'atm' channel) are listed by rule and file, and
    retried after the upgrade: each loads once, into its own date; a line that still breaks a rule
    keeps waiting until it is released, with the reason kept."""
    from warehouse.cli import main

    landing = copy_days(tiny_bank, tmp_path / "landing", days=2)
    clean_settings = settings.__class__.from_env({"WAREHOUSE_URL": settings.warehouse_url,
                                                  "BANK_LANDING_DIR": str(landing)})
    day2 = landing / "2026-07-02"
    lines = (day2 / "transactions.csv").read_text().splitlines()
    broken = lines[1].split(",")
    broken[5] = "1O0.00"  # the amount: not a number, whatever the contract
    lines[1] = ",".join(broken)
    (day2 / "transactions.csv").write_text("\n".join(lines) + "\n")
    rewrite_control(day2)
    atm_lines = sum(1 for d in landing.iterdir() for ln in (d / "transactions.csv").read_text().splitlines()[1:]
                    if ln.split(",")[3] == "atm")
    assert atm_lines > 0

    with monkeypatch.context() as older:
        _older_contract_without_atm(older)
        load_pending(clean_settings, dt.date(2026, 7, 2))
    assert _statuses(conn) == [("transactions.csv", "accepted_values", "waiting", atm_lines),
                               ("transactions.csv", "numeric", "waiting", 1)]
    monkeypatch.setenv("WAREHOUSE_URL", settings.warehouse_url)

    assert main(["quarantine", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{atm_lines + 1} lines wait" in listed and "accepted_values" in listed and "numeric" in listed

    with conn.cursor() as cur:
        cur.execute("select count(*) from raw.transactions")
        before = cur.fetchone()[0]
    conn.rollback()
    assert main(["quarantine", "retry", "--file", "transactions.csv"]) == 0
    assert f"{atm_lines + 1} waiting lines tried, {atm_lines} pass" in capsys.readouterr().out
    assert main(["quarantine", "retry"]) == 0  # again: the retried lines are not loaded twice
    assert "1 waiting lines tried, 0 pass" in capsys.readouterr().out
    with conn.cursor() as cur:
        cur.execute("select count(*), count(distinct transaction_id) from raw.transactions")
        assert cur.fetchone() == (before + atm_lines, before + atm_lines)
        cur.execute("select count(*) from raw.transactions where channel = 'atm' and batch_id > 2")
        assert cur.fetchone()[0] == atm_lines  # tagged with the retry's batch, for the audit
    conn.rollback()
    assert _revisions(conn)[0][2] == _revisions(conn)[1][2] > 2  # both dates revised by the retry's batch

    assert main(["quarantine", "release", "--rule", "numeric"]) == 1  # a release needs a reason
    capsys.readouterr()
    assert main(["quarantine", "release", "--rule", "numeric", "--reason", "the bank cannot resend it"]) == 0
    assert _statuses(conn) == [("transactions.csv", "accepted_values", "retried", atm_lines),
                               ("transactions.csv", "numeric", "released", 1)]
    with conn.cursor() as cur:
        cur.execute("select resolution from audit.quarantined_rows where status = 'released'")
        assert cur.fetchone()[0] == "released: the bank cannot resend it"
    conn.rollback()
    assert main(["quarantine", "list"]) == 0
    assert "0 lines wait" in capsys.readouterr().out
