"""The catalogue of bad input: each kind, what the loader does with it.

Every case damages day 2 of the tiny bank (day 1 is loaded first) and expects one of:
- ("quarantine", file, rule): the bad line is in audit.quarantined_rows under that rule, the rest loads;
- ("refuse", rule): the whole delivery fails naming that rule and the warehouse is unchanged;
- ("accept", None): tolerated, loads every line;
- ("late", file, column, key): loads every line, the one pointing at a master record not delivered
  yet against an inferred member, registered in audit.unresolved_references.
"""

import datetime as dt
import shutil

import pytest

from ingestion.load import DeliveryError, load_pending
from tests.deliveries import raw_counts, rewrite_control

DAY2 = "2026-07-02"


def _lines(path, encoding="utf-8"):
    return path.read_bytes().decode(encoding).splitlines()


def _write(path, lines, encoding="utf-8", newline="\n"):
    path.write_bytes((newline.join(lines) + newline).encode(encoding))


def _append(folder, file, line, encoding="utf-8"):
    path = folder / file
    _write(path, _lines(path, encoding) + [line], encoding)


def _edit_field(folder, file, column, value, line=1):
    path = folder / file
    lines = _lines(path)
    header = lines[0].split(",")
    fields = lines[line].split(",")
    fields[header.index(column)] = value
    lines[line] = ",".join(fields)
    _write(path, lines)


def _day1_line(tiny_bank, file):
    return _lines(tiny_bank / "2026-07-01" / file)[1]


def _first_customer(folder):
    return _lines(folder.parent / "2026-07-01" / "customers.csv", "gbk")[1]


CASES = {
    "truncated file": (lambda f, t: (f / "transactions.csv").write_bytes((f / "transactions.csv").read_bytes()[:-30]),
                       ("refuse", "checksum_matches_control")),
    "truncated, checksum recomputed": (
        lambda f, t: (_write(f / "transactions.csv", _lines(f / "transactions.csv")[:-2]),
                      rewrite_control(f, keep_counts=True)),
        ("refuse", "row_count_matches_control")),
    "wrong delimiter": (lambda f, t: (_write(f / "deposit_balances.csv",
                                             [ln.replace(",", ";") for ln in _lines(f / "deposit_balances.csv")]),
                                      rewrite_control(f)),
                        ("refuse", "header_matches_contract")),
    "missing column": (lambda f, t: (_write(f / "transactions.csv", [*_lines(f / "transactions.csv")[:1],
                                      ",".join(_lines(f / "transactions.csv")[1].split(",")[:-1]),
                                      *_lines(f / "transactions.csv")[2:]]), rewrite_control(f)),
                       ("quarantine", "transactions.csv", "column_count")),
    "extra column": (lambda f, t: (_write(f / "transactions.csv", [*_lines(f / "transactions.csv")[:1],
                                    _lines(f / "transactions.csv")[1] + ",surplus",
                                    *_lines(f / "transactions.csv")[2:]]), rewrite_control(f)),
                     ("quarantine", "transactions.csv", "column_count")),
    "byte-order mark": (lambda f, t: ((f / "deposit_balances.csv").write_bytes(
        b"\xef\xbb\xbf" + (f / "deposit_balances.csv").read_bytes()), rewrite_control(f)), ("accept", None)),
    "CRLF line ends": (lambda f, t: (_write(f / "transactions.csv", _lines(f / "transactions.csv"), newline="\r\n"),
                                     rewrite_control(f)), ("accept", None)),
    "GBK bytes in a UTF-8 file": (lambda f, t: ((f / "transactions.csv").write_bytes(
        (f / "transactions.csv").read_bytes() + "T1,A000000001,2026-07-02 10:00:00,branch,fee,1.00,0.00,王\n"
        .encode("gbk")), rewrite_control(f)), ("refuse", "declared_encoding")),
    "empty file": (lambda f, t: ((f / "service_interactions.csv").write_bytes(b""), rewrite_control(f)),
                   ("refuse", "header_matches_contract")),
    "non-numeric amount": (lambda f, t: (_edit_field(f, "transactions.csv", "amount_cny", "12,5O"),
                                         rewrite_control(f)),
                           ("quarantine", "transactions.csv", "column_count")),
    "non-numeric amount in its field": (lambda f, t: (_edit_field(f, "transactions.csv", "amount_cny", "1O0.00"),
                                                      rewrite_control(f)),
                                        ("quarantine", "transactions.csv", "numeric")),
    "impossible date": (lambda f, t: (_edit_field(f, "transactions.csv", "transaction_at", "2026-02-30 10:00:00"),
                                      rewrite_control(f)),
                        ("quarantine", "transactions.csv", "valid_timestamp")),
    "negative loan outstanding": (lambda f, t: (_edit_field(f, "loan_balances.csv", "outstanding_cny", "-5.00"),
                                                rewrite_control(f)),
                                  ("quarantine", "loan_balances.csv", "non_negative")),
    "overdrawn current account": (lambda f, t: (_edit_field(f, "deposit_balances.csv", "balance_cny", "-5.00"),
                                                rewrite_control(f)), ("accept", None)),
    "a system posting (interest credited)": (
        lambda f, t: (_edit_field(f, "transactions.csv", "channel", "system"),
                      _edit_field(f, "transactions.csv", "transaction_type", "interest"), rewrite_control(f)),
        ("accept", None)),
    "duplicate key within a file": (lambda f, t: (_append(f, "transactions.csv", _lines(f / "transactions.csv")[1]),
                                                  rewrite_control(f)),
                                    ("quarantine", "transactions.csv", "unique_key_in_file")),
    "duplicate key across deliveries": (lambda f, t: (_append(f, "transactions.csv",
                                                              _day1_line(t, "transactions.csv")),
                                                      rewrite_control(f)),
                                        ("quarantine", "transactions.csv", "unique_key_across_deliveries")),
    "unknown product code": (lambda f, t: (_append(f, "accounts.csv",
                                                   "A900000001,C00000002,XX99,2026-07-02,,,0.2000,"),
                                           rewrite_control(f)),
                             ("quarantine", "accounts.csv", "known_reference")),
    "unknown branch code": (lambda f, t: (_append(f, "customers.csv", _first_customer(f).replace(
        _first_customer(f).split(",")[12], "BR99-S99").replace(_first_customer(f).split(",")[0], "C90000001", 1),
        "gbk"), rewrite_control(f)), ("quarantine", "customers.csv", "known_reference")),
    "orphan account": (lambda f, t: (_append(f, "deposit_balances.csv", "A999999999,100.00,0.2000"),
                                     rewrite_control(f)),
                       ("late", "deposit_balances.csv", "account_id", "A999999999")),
    "transaction of an account not delivered yet": (
        lambda f, t: (_edit_field(f, "transactions.csv", "account_id", "A888888888"), rewrite_control(f)),
        ("late", "transactions.csv", "account_id", "A888888888")),
    "interaction of a customer not delivered yet": (
        lambda f, t: (_append(f, "service_interactions.csv",
                              "S99990001,C99999999,inquiry,mobile,2026-07-02 10:00:00,,"), rewrite_control(f)),
        ("late", "service_interactions.csv", "customer_id", "C99999999")),
    "blank line": (lambda f, t: (_write(f / "transactions.csv", [*_lines(f / "transactions.csv")[:2], "",
                                                                 *_lines(f / "transactions.csv")[2:]]),
                                 rewrite_control(f)),
                   ("quarantine", "transactions.csv", "column_count")),
    "a path in an id": (lambda f, t: (_edit_field(f, "transactions.csv", "transaction_id", "../../../../tmp/x/T1"),
                                      rewrite_control(f)),
                        ("quarantine", "transactions.csv", "code_format")),
    "field over 131,072 characters": (lambda f, t: (_edit_field(f, "transactions.csv", "transaction_id", "T" * 140_000),
                                                    rewrite_control(f)),
                                      ("quarantine", "transactions.csv", "max_length")),
    "control file lists a file twice": (
        lambda f, t: (f / "control.csv").write_text((f / "control.csv").read_text()
                                                    + (f / "control.csv").read_text().splitlines()[1] + "\n"),
        ("refuse", "control_lists_each_file_once")),
    "a folder where a file should be": (lambda f, t: ((f / "loan_balances.csv").unlink(),
                                                      (f / "loan_balances.csv").mkdir()),
                                        ("refuse", "regular_file")),
    "a symbolic link where a file should be": (
        lambda f, t: (shutil.move(f / "loan_balances.csv", f.parent / "elsewhere.csv"),
                      (f / "loan_balances.csv").symlink_to(f.parent / "elsewhere.csv")),
        ("refuse", "regular_file")),
    "unknown code in a closed list": (lambda f, t: (_edit_field(f, "transactions.csv", "channel", "fax"),
                                                    rewrite_control(f)),
                                      ("quarantine", "transactions.csv", "accepted_values")),
    "missing required value": (lambda f, t: (_edit_field(f, "transactions.csv", "account_id", ""),
                                             rewrite_control(f)),
                               ("quarantine", "transactions.csv", "not_null")),
    "very long field": (lambda f, t: (_edit_field(f, "transactions.csv", "transaction_id", "T" * 500),
                                      rewrite_control(f)),
                        ("quarantine", "transactions.csv", "max_length")),
    "NUL byte": (lambda f, t: (_edit_field(f, "transactions.csv", "transaction_id", "T20260702\x0000000001"),
                               rewrite_control(f)),
                 ("quarantine", "transactions.csv", "no_nul_bytes")),
    "control total mismatch": (lambda f, t: (f / "control.csv").write_text(
        (f / "control.csv").read_text().replace(",transactions.csv,utf-8,", ",transactions.csv,utf-8,") .replace(
            _control_total(f, "transactions.csv"), "1.00")), ("refuse", "amount_total_matches_control")),
    "file for the wrong date": (lambda f, t: (f / "control.csv").write_text(
        (f / "control.csv").read_text().replace(DAY2, "2026-07-03")), ("refuse", "business_date_matches_folder")),
    "missing control file": (lambda f, t: (f / "control.csv").unlink(), ("refuse", "control_file_present")),
    "missing data file": (lambda f, t: (f / "loan_balances.csv").unlink(), ("refuse", "file_present")),
}


def _control_total(folder, file_name):
    for line in (folder / "control.csv").read_text().splitlines():
        fields = line.split(",")
        if fields[1] == file_name:
            return fields[4]
    raise KeyError(file_name)


def test_the_catalogue_has_at_least_twenty_kinds():
    assert len(CASES) >= 20


@pytest.mark.parametrize("kind", list(CASES))
def test_bad_input(kind, tiny_bank, tmp_path, settings, conn):
    damage, expected = CASES[kind]
    landing = tmp_path / "landing"
    landing.mkdir()
    for day in ("2026-07-01", DAY2):
        shutil.copytree(tiny_bank / day, landing / day)
    load_pending(settings, dt.date(2026, 7, 1))
    before = raw_counts(conn)
    folder = landing / DAY2
    lines_in = {p.name: len(p.read_bytes().splitlines()) - 1 for p in folder.glob("*.csv") if p.name != "control.csv"}
    damage(folder, tiny_bank)
    if expected[0] == "refuse":
        with pytest.raises(DeliveryError) as failure:
            load_pending(settings, dt.date(2026, 7, 2))
        assert failure.value.rule == expected[1], str(failure.value)
        assert raw_counts(conn) == before
        return
    [result] = load_pending(settings, dt.date(2026, 7, 2))
    for file_result in result.files:
        assert file_result.rows_read == file_result.rows_loaded + file_result.rows_quarantined
    with conn.cursor() as cur:
        cur.execute("select file_name, rule, line_number, raw_line from audit.quarantined_rows")
        quarantined = cur.fetchall()
    if expected[0] == "accept":
        assert quarantined == []
        assert {f.file_name: f.rows_loaded for f in result.files} == lines_in
        return
    if expected[0] == "late":
        _, file_name, column, key = expected
        assert quarantined == []
        assert {f.file_name: f.rows_loaded for f in result.files}[file_name] == lines_in[file_name] + (
            file_name != "transactions.csv")
        with conn.cursor() as cur:
            cur.execute("select file_name, column_name, referenced_key, rows_loaded, resolved_batch_id "
                        "from audit.unresolved_references")
            assert cur.fetchall() == [(file_name, column, key, 1, None)]
        return
    _, file_name, rule = expected
    assert [(q[0], q[1]) for q in quarantined] == [(file_name, rule)], quarantined
    assert quarantined[0][2] >= 2 and quarantined[0][3] is not None  # a line number, its text
