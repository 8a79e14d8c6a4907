"""Build RM and branch reports from the command line, e.g. a re-print for one RM:

    python -m reports --month 2026-09 --rm RM0001 --lang zh
    python -m reports --month 2026-09 --branch BR01
    python -m reports --month 2026-09 --head-office
    python -m reports --month 2026-09 --all          # every RM and branch and the head office
    python -m reports --month 2026-09 --list         # the books there are

The warehouse is ``WAREHOUSE_URL`` (or the embedded one), the folder ``BANK_REPORTS_DIR``, the
languages ``BANK_REPORT_LANGUAGES`` unless ``--lang`` is given.
"""

from __future__ import annotations

import argparse
import logging
import sys

from reports.books import BANK, BookKey, list_books, parse_month
from reports.document import FontMissing
from reports.publish import publish, publish_month
from warehouse.settings import REPORT_LANGUAGES, Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", required=True, help="the month, YYYY-MM")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--rm", help="one RM's report (their RM id)")
    which.add_argument("--branch", help="one branch's summary (its branch id)")
    which.add_argument("--head-office", action="store_true", help="the head-office summary of the whole bank")
    which.add_argument("--all", action="store_true", help="every RM's and every branch's report of the month")
    which.add_argument("--list", action="store_true", help="list the month's books and build nothing")
    parser.add_argument("--lang", choices=REPORT_LANGUAGES, action="append",
                        help="language; repeat for both (default: BANK_REPORT_LANGUAGES, zh and en)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from warehouse.db import connect

    try:
        month = parse_month(args.month)
        settings = Settings.from_env()
        languages = args.lang or list(settings.report_languages)
        with connect(settings) as conn:
            if args.list:
                for key in list_books(conn, month):
                    print(f"{key.level:<7} {key.portfolio_id}")
                return 0
            if args.all:
                entries, failures = publish_month(conn, month, settings.reports_dir, languages, settings.currency)
            else:
                key = (BookKey(month, "bank", BANK) if args.head_office
                       else BookKey(month, "rm" if args.rm else "branch", args.rm or args.branch))
                entries, failures = publish(conn, key, settings.reports_dir, languages, settings.currency), []
    except (ValueError, LookupError, FontMissing, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for entry in entries:
        print(f"{settings.reports_dir / entry['month'] / entry['file']}  ({entry['pages']} pages)")
    for key, error in failures:
        print(f"FAILED {key}: {error}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
