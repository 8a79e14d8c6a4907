"""A deterministic simulator that plays the bank's source systems.

It writes one delivery folder per business date, following ``ingestion.contract``: master deltas
(organisation, RMs, products, customers, accounts), the daily deposit and loan balance tables,
settlement transactions, service interactions and the control file. Behaviour comes from hidden
archetypes and planted life events; that ground truth goes to a separate folder the pipeline
never reads.

Determinism: every random draw comes from generators seeded by ``(seed, purpose[, day])``, and
every number is written with fixed decimals, so the same knobs give byte-identical files.
Scale: state is a handful of numpy arrays per customer and account; each day is generated and
written, then dropped, so memory does not grow with the date range.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ingestion import contract
from warehouse.progress import Progress

log = logging.getLogger(__name__)

# "Never" for a day index: an account that does not mature or close, a customer who does not leave.
NEVER = 10**6


class Archetype(NamedTuple):
    share: float  # of customers
    is_enterprise: bool
    deposit_median_cny: float  # log-normal
    transactions_per_day: float
    channel_probabilities: tuple[float, float, float, float]  # branch, atm, mobile, web


class Product(NamedTuple):
    code: str
    name: str
    family: str
    type: str
    term_months: int | None
    rate_type: str
    customer_rate_pct: float


# Hidden archetypes: share of customers and behaviour. The pipeline never sees these names.
ARCHETYPES = {
    "affluent_saver":       Archetype(0.08, False, 400_000.0, 0.25, (0.35, 0.05, 0.50, 0.10)),
    "mass_retail":          Archetype(0.37, False, 12_000.0, 0.60, (0.10, 0.30, 0.55, 0.05)),
    "young_digital_borrower": Archetype(0.15, False, 4_000.0, 1.20, (0.02, 0.08, 0.85, 0.05)),
    "sme_operator":         Archetype(0.10, True, 250_000.0, 2.50, (0.25, 0.05, 0.20, 0.50)),
    "mortgage_family":      Archetype(0.12, False, 35_000.0, 0.50, (0.15, 0.20, 0.60, 0.05)),
    "rate_chaser":          Archetype(0.08, False, 150_000.0, 0.15, (0.40, 0.05, 0.45, 0.10)),
    "dormant":              Archetype(0.10, False, 800.0, 0.01, (0.50, 0.40, 0.10, 0.00)),
}
ARCHETYPE_NAMES = tuple(ARCHETYPES)
LIFE_EVENTS = ("steady", "growth", "decline", "churn")
STEADY, GROWTH, DECLINE, CHURN = range(len(LIFE_EVENTS))  # indices into LIFE_EVENTS

PRODUCTS = (
    Product("DD01", "活期存款 Demand deposit", "deposit", "demand_deposit", None, "floating", 0.20),
    Product("TD03", "三个月定期 3-month time deposit", "deposit", "time_deposit", 3, "fixed", 1.05),
    Product("TD12", "一年定期 1-year time deposit", "deposit", "time_deposit", 12, "fixed", 1.45),
    Product("TD36", "三年定期 3-year time deposit", "deposit", "time_deposit", 36, "fixed", 1.95),
    Product("WM01", "稳健理财 Wealth management", "wealth", "wealth_management", 6, "floating", 2.60),
    Product("ML30", "个人住房贷款 Mortgage", "loan", "mortgage", 360, "floating", 3.55),
    Product("CL03", "个人消费贷款 Consumer loan", "loan", "consumer_loan", 36, "fixed", 6.20),
    Product("SW12", "小微流动资金贷款 SME working capital", "loan", "sme_working_capital", 12, "floating", 4.80),
)
PRODUCT_INDEX = {p.code: i for i, p in enumerate(PRODUCTS)}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰志红建国晨宇欣怡子涵浩然"
DISTRICTS = ("东城区", "西城区", "朝阳区", "海淀区", "丰台区", "浦东新区", "徐汇区", "天河区", "南山区", "武侯区")
INDUSTRIES = ("制造业", "批发零售", "餐饮", "建筑", "物流", "信息技术", "农业")
OCCUPATIONS = ("职员", "教师", "医生", "工程师", "个体经营", "公务员", "退休", "学生")
CONTROL_AMOUNT = "{:.2f}"

# Files that the bank's core system delivers in GBK (Chinese core systems often do).
GBK_FILES = frozenset({"customers", "org_units"})


@dataclass(frozen=True)
class SimulationConfig:
    customers: int = 2000
    start_date: dt.date = dt.date(2026, 7, 1)
    end_date: dt.date = dt.date(2026, 9, 30)
    seed: int = 42
    branches: int = 4
    sub_branches_per_branch: int = 3
    customers_per_rm: int = 120
    # share of data lines damaged on purpose (see DIRTY_KINDS), to exercise the quarantine
    dirty_rate: float = 0.0

    @property
    def days(self) -> list[dt.date]:
        n = (self.end_date - self.start_date).days + 1
        if n < 1:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        return [self.start_date + dt.timedelta(days=i) for i in range(n)]


def _rng(seed: int, *purpose: int) -> np.random.Generator:
    return np.random.default_rng([seed, *purpose])


def _money(x: float) -> str:
    return f"{x:.2f}"


class Bank:
    """The state of the simulated bank; ``deliver(day)`` writes that day's files."""

    def __init__(self, config: SimulationConfig):
        self.config = config
        self.day0 = config.start_date
        self.ndays = len(config.days)
        rng = _rng(config.seed, 1)
        n = config.customers
        self._org_units()
        self._rms(rng)

        shares = np.array([a.share for a in ARCHETYPES.values()])
        self.archetype = rng.choice(len(ARCHETYPES), size=n, p=shares / shares.sum())
        self.is_enterprise = np.array([ARCHETYPES[ARCHETYPE_NAMES[a]].is_enterprise for a in self.archetype])
        # onboarding: 92% before the first delivery (up to 15 years back), the rest during the range
        history_days = rng.integers(30, 15 * 365, size=n)
        onboard = np.array([-d for d in history_days])
        new_mask = rng.random(n) < 0.08
        onboard[new_mask] = rng.integers(0, self.ndays, size=new_mask.sum())
        self.onboard_day = onboard  # day index relative to start_date (negative = before)
        # planted life events
        ev = rng.choice(len(LIFE_EVENTS), size=n, p=(0.70, 0.12, 0.12, 0.06))
        ev[self.archetype == ARCHETYPE_NAMES.index("dormant")] = STEADY
        self.life_event = ev
        self.event_day = rng.integers(0, max(self.ndays, 1), size=n)
        self.churn_day = np.full(n, NEVER)
        churn = ev == CHURN
        self.churn_day[churn] = np.maximum(self.event_day[churn] + 20, self.onboard_day[churn] + 1)
        self.closed_written = np.zeros(n, dtype=bool)
        # organisation of customers
        self.rm = rng.integers(0, len(self.rm_ids), size=n)
        # a customer's home sub-branch is their RM's when assigned; it stays if the RM later moves
        self.home_sub_branch = np.array([self.rm_sub_branch[r] for r in self.rm], dtype=object)
        self.income_band = np.clip(
            rng.normal(loc=[2.0 + 2.0 * (ARCHETYPE_NAMES[a] in ("affluent_saver", "sme_operator", "rate_chaser"))
                            - 1.0 * (ARCHETYPE_NAMES[a] in ("young_digital_borrower", "dormant"))
                            for a in self.archetype], scale=0.7).round(), 0, 4).astype(int)
        self.referrer = np.where(rng.random(n) < 0.15, rng.integers(0, n, size=n), -1)
        self.referrer[self.referrer >= np.arange(n)] = -1  # only earlier customers refer
        self.group = np.where(rng.random(n) < 0.2, rng.integers(0, max(n // 8, 1), size=n), -1)
        self.birth_days = rng.integers(20 * 365, 70 * 365, size=n)
        self.gender = rng.integers(0, 2, size=n)
        self.district = rng.integers(0, len(DISTRICTS), size=n)  # where they live now
        self.registered_district = self.district.copy()  # where their ID was issued: never changes
        self.industry = rng.integers(0, len(INDUSTRIES), size=n)
        self.occupation = rng.integers(0, len(OCCUPATIONS), size=n)
        self.name_seed = rng.integers(0, 2**31, size=n)
        self.changed_today: set[int] = set()
        self._accounts(rng)

    # -- setup --------------------------------------------------------------------------------
    def _org_units(self) -> None:
        c = self.config
        units = [("HO", "总行 Head office", "head_office", "")]
        self.sub_branch_ids: list[str] = []
        for b in range(1, c.branches + 1):
            bid = f"BR{b:02d}"
            units.append((bid, f"第{b}分行 Branch {b}", "branch", "HO"))
            for s in range(1, c.sub_branches_per_branch + 1):
                sid = f"{bid}-S{s:02d}"
                units.append((sid, f"第{b}分行第{s}支行 Sub-branch {b}.{s}", "sub_branch", bid))
                self.sub_branch_ids.append(sid)
        self.org_units = units

    def _rms(self, rng: np.random.Generator) -> None:
        n_rm = max(len(self.sub_branch_ids), -(-self.config.customers // self.config.customers_per_rm))
        self.rm_ids = [f"RM{i + 1:04d}" for i in range(n_rm)]
        self.rm_sub_branch = [self.sub_branch_ids[i % len(self.sub_branch_ids)] for i in range(n_rm)]
        self.rm_names = [SURNAMES[rng.integers(len(SURNAMES))] + GIVEN[rng.integers(len(GIVEN))]
                         + GIVEN[rng.integers(len(GIVEN))] for _ in range(n_rm)]
        self.rm_hired = [self.day0 - dt.timedelta(days=int(rng.integers(200, 8000))) for _ in range(n_rm)]

    def _accounts(self, rng: np.random.Generator) -> None:
        cust, prod, principal, opened, term_days, rolls = [], [], [], [], [], []
        n = self.config.customers
        names = ARCHETYPE_NAMES
        for i in range(n):
            a = names[self.archetype[i]]
            median = ARCHETYPES[a].deposit_median_cny
            opened_i = self.onboard_day[i]

            def add(code: str, amount: float, roll: bool = True, when: int = opened_i, owner: int = i) -> None:
                cust.append(owner)
                prod.append(PRODUCT_INDEX[code])
                principal.append(amount)
                opened.append(when)
                term = PRODUCTS[PRODUCT_INDEX[code]].term_months
                term_days.append(0 if term is None else int(term * 30.4))
                rolls.append(roll)

            add("DD01", float(rng.lognormal(np.log(median), 0.8)))
            if a in ("affluent_saver", "rate_chaser") or (a == "mass_retail" and rng.random() < 0.3):
                code = ("TD03", "TD12", "TD36")[rng.integers(3)]
                add(code, float(rng.lognormal(np.log(median * 1.5), 0.6)), roll=(a != "rate_chaser"),
                    when=opened_i - int(rng.integers(0, 300)))
            if a == "affluent_saver" and rng.random() < 0.6:
                add("WM01", float(rng.lognormal(np.log(median), 0.5)))
            if a == "mortgage_family":
                add("ML30", float(rng.lognormal(np.log(900_000), 0.4)), when=opened_i - int(rng.integers(0, 3000)))
            if a == "young_digital_borrower" and rng.random() < 0.7:
                add("CL03", float(rng.lognormal(np.log(60_000), 0.5)), when=opened_i - int(rng.integers(0, 700)))
            if a == "sme_operator" and rng.random() < 0.6:
                add("SW12", float(rng.lognormal(np.log(1_500_000), 0.6)), when=opened_i - int(rng.integers(0, 300)))
        self.acct_customer = np.array(cust)
        self.acct_product = np.array(prod)
        self.acct_principal = np.round(np.array(principal), 2)
        # an account cannot open before its customer is onboarded
        self.acct_opened = np.maximum(np.array(opened), self.onboard_day[self.acct_customer])
        self.acct_term_days = np.array(term_days)
        self.acct_rolls = np.array(rolls)
        families = np.array([PRODUCTS[p].family for p in self.acct_product])
        self.acct_is_loan = families == "loan"
        self.acct_rate = np.array([PRODUCTS[p].customer_rate_pct for p in self.acct_product]) + np.round(
            rng.normal(0, 0.15, size=len(cust)), 2) * self.acct_is_loan
        self.acct_balance = self.acct_principal.copy()
        # loans: amortised share already repaid at the first delivery
        elapsed = np.clip(-self.acct_opened, 0, None)
        with np.errstate(divide="ignore", invalid="ignore"):
            repaid = np.where(self.acct_term_days > 0, elapsed / np.maximum(self.acct_term_days, 1), 0)
        self.acct_balance[self.acct_is_loan] *= np.clip(1 - repaid[self.acct_is_loan], 0.05, 1)
        # maturity (time deposits roll over to the next term; loans mature at the term end)
        self.acct_maturity = np.where(self.acct_term_days > 0, self.acct_opened + self.acct_term_days, NEVER)
        for _ in range(200):  # roll time deposits forward until their maturity is after day 0
            stale = (self.acct_maturity < 0) & ~self.acct_is_loan & (self.acct_term_days > 0)
            if not stale.any():
                break
            self.acct_maturity[stale] += self.acct_term_days[stale]
        loans_matured = self.acct_is_loan & (self.acct_maturity < 0)
        self.acct_maturity[loans_matured] = NEVER  # renewed facility: treat as open-ended
        self.acct_closed_day = np.full(len(cust), NEVER)
        self.acct_days_past_due = np.zeros(len(cust), dtype=int)
        distressed = self.acct_is_loan & (rng.random(len(cust)) < 0.06)
        self.acct_days_past_due[distressed] = rng.integers(1, 400, size=distressed.sum())
        self.acct_changed: set[int] = set()

    # -- one day --------------------------------------------------------------------------------
    def step(self, d: int) -> dict[str, list[list[str]]]:
        """Advance to day index ``d`` and return that day's rows per file."""
        day = self.day0 + dt.timedelta(days=d)
        rng = _rng(self.config.seed, 2, d)
        rows: dict[str, list[list[str]]] = {f.name: [] for f in contract.SOURCE_FILES}
        if d == 0:
            rows["org_units"] = [list(u) for u in self.org_units]
            rows["relationship_managers"] = [
                [rid, name, sb, h.isoformat()]
                for rid, name, sb, h in zip(self.rm_ids, self.rm_names, self.rm_sub_branch, self.rm_hired,
                                            strict=True)]
            rows["products"] = [[p.code, p.name, p.family, p.type, "" if p.term_months is None else str(p.term_months),
                                 p.rate_type] for p in PRODUCTS]
        n = self.config.customers
        active = self.onboard_day <= d
        live = active & (self.churn_day > d)

        # master changes: RM re-assignments, moves to another district, income changes (SCD2 history)
        changed = np.flatnonzero(active & (self.onboard_day < d) & (rng.random(n) < 0.002))
        moved = changed[rng.random(len(changed)) < 0.7]
        self.rm[moved] = rng.integers(0, len(self.rm_ids), size=len(moved))
        for i in moved:
            self.home_sub_branch[i] = self.rm_sub_branch[self.rm[i]]
        if d > 0:  # RMs move too, now and then, to another sub-branch (history for their dimension)
            for r in np.flatnonzero(rng.random(len(self.rm_ids)) < 0.004):
                self.rm_sub_branch[r] = self.sub_branch_ids[int(rng.integers(len(self.sub_branch_ids)))]
                rows["relationship_managers"].append([self.rm_ids[r], self.rm_names[r], self.rm_sub_branch[r],
                                                      self.rm_hired[r].isoformat()])
        rest = np.setdiff1d(changed, moved)
        relocated = rest[rng.random(len(rest)) < 0.5]  # a new address in another district
        self.district[relocated] = (self.district[relocated] + rng.integers(1, len(DISTRICTS), size=len(relocated))
                                    ) % len(DISTRICTS)
        earning = np.setdiff1d(rest, relocated)  # income band up or down one step
        self.income_band[earning] = np.clip(self.income_band[earning] + rng.choice([-1, 1], size=len(earning)), 0, 4)
        churned_today = np.flatnonzero(self.churn_day == d)
        new_today = np.flatnonzero(self.onboard_day == d) if d > 0 else np.flatnonzero(active)
        customers_out = np.union1d(np.union1d(new_today, changed), churned_today)
        rows["customers"] = [self._customer_row(i, d) for i in customers_out]

        # account events
        acct_live = live[self.acct_customer] & (self.acct_opened <= d) & (self.acct_closed_day > d)
        maturing = np.flatnonzero(acct_live & (self.acct_maturity == d))
        for a in maturing:
            if self.acct_is_loan[a] or not self.acct_rolls[a] and rng.random() < 0.8:
                self.acct_closed_day[a] = d
            else:
                self.acct_maturity[a] += self.acct_term_days[a]
        closing = np.flatnonzero(np.isin(self.acct_customer, churned_today) & (self.acct_closed_day > d))
        self.acct_closed_day[closing] = d
        acct_new = np.flatnonzero((self.acct_opened <= d) & active[self.acct_customer]) if d == 0 else \
            np.flatnonzero(self.acct_opened == d)
        acct_out = np.union1d(np.union1d(acct_new, maturing), closing)
        rows["accounts"] = [self._account_row(a) for a in acct_out]
        acct_live &= self.acct_closed_day > d

        # balances: log-normal walk with the planted life-event drift
        drift = np.zeros(n)
        after_event = d >= self.event_day
        drift[(self.life_event == GROWTH) & after_event] = 0.004
        drift[(self.life_event == DECLINE) & after_event] = -0.012
        drift[(self.life_event == CHURN) & after_event] = -0.03
        deposit = acct_live & ~self.acct_is_loan
        demand = deposit & (self.acct_term_days == 0)
        shock = rng.normal(0, 0.02, size=len(self.acct_balance))
        self.acct_balance[demand] *= np.exp(drift[self.acct_customer[demand]] + shock[demand])
        for a in np.flatnonzero(deposit):
            rows["deposit_balances"].append(
                [f"A{a + 1:09d}", _money(self.acct_balance[a]), f"{self.acct_rate[a]:.4f}"])
        loans = acct_live & self.acct_is_loan
        monthly = self.acct_principal / np.maximum(self.acct_term_days / 30.4, 1)
        paying_today = loans & (day.day == 20) & (self.acct_days_past_due == 0)
        self.acct_balance[paying_today] = np.maximum(self.acct_balance[paying_today] - monthly[paying_today], 0)
        late = loans & (self.acct_days_past_due > 0)
        self.acct_days_past_due[late] += 1
        cure = late & (rng.random(len(late)) < 0.01)
        self.acct_days_past_due[cure] = 0
        for a in np.flatnonzero(loans):
            dpd = int(self.acct_days_past_due[a])
            rows["loan_balances"].append([f"A{a + 1:09d}", _money(self.acct_balance[a]), f"{self.acct_rate[a]:.4f}",
                                          str(dpd), _classification(dpd)])

        # transactions on each live customer's first (demand) account
        rate = np.array([ARCHETYPES[ARCHETYPE_NAMES[a]].transactions_per_day for a in self.archetype])
        rate = rate * np.where((self.life_event == CHURN) & after_event, 0.3, 1.0) * live
        counts = rng.poisson(rate)
        first_account = np.searchsorted(self.acct_customer, np.arange(n))
        seq = 0
        tx_types = contract.TRANSACTION_TYPES
        for i in np.flatnonzero(counts):
            archetype = ARCHETYPES[ARCHETYPE_NAMES[self.archetype[i]]]
            probs = archetype.channel_probabilities
            for _ in range(counts[i]):
                seq += 1
                channel = contract.CHANNELS[rng.choice(4, p=probs)]
                kind = tx_types[rng.integers(0, 5)]
                amount = float(rng.lognormal(np.log(archetype.deposit_median_cny * 0.05), 1.0))
                fee = 2.0 if channel == "branch" and kind in ("transfer_out", "payment") else \
                    (0.5 if channel == "atm" and kind == "withdrawal" else 0.0)
                at = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(seconds=int(rng.integers(0, 14 * 3600)))
                rows["transactions"].append([f"T{day:%Y%m%d}{seq:08d}", f"A{first_account[i] + 1:09d}",
                                             at.isoformat(sep=" "), channel, kind, _money(amount), _money(fee)])

        # service interactions: complaints are likelier for customers in decline
        p_contact = np.where(np.isin(self.life_event, (DECLINE, CHURN)) & after_event, 0.02, 0.003) * live
        for k, i in enumerate(np.flatnonzero(rng.random(n) < p_contact)):
            kind = contract.INTERACTION_TYPES[rng.choice(3, p=(0.6, 0.2, 0.2))]
            opened_at = dt.datetime.combine(day, dt.time(9)) + dt.timedelta(minutes=int(rng.integers(0, 480)))
            hours = float(rng.exponential(30 if kind == "complaint" else 2))
            resolved = opened_at + dt.timedelta(hours=hours)
            score = int(np.clip(round(rng.normal(2.5 if kind == "complaint" else 4.2, 1)), 1, 5))
            rows["service_interactions"].append([
                f"S{day:%Y%m%d}{k + 1:06d}", f"C{i + 1:08d}", kind, contract.CHANNELS[rng.choice(4)],
                opened_at.isoformat(sep=" "), resolved.isoformat(sep=" ", timespec="seconds"), str(score)])
        return rows

    def _customer_row(self, i: int, d: int) -> list[str]:
        r = np.random.default_rng([self.config.seed, 3, int(self.name_seed[i])])
        ent = bool(self.is_enterprise[i])
        district = DISTRICTS[self.district[i]]
        registered = DISTRICTS[self.registered_district[i]]
        birth = self.day0 - dt.timedelta(days=int(self.birth_days[i]))
        if ent:
            name = f"{registered[:2]}{GIVEN[r.integers(len(GIVEN))]}{GIVEN[r.integers(len(GIVEN))]}" \
                   f"{INDUSTRIES[self.industry[i]]}有限公司"
            national_id = f"91{r.integers(10**15, 10**16)}X"
        else:
            name = SURNAMES[r.integers(len(SURNAMES))] + "".join(GIVEN[r.integers(len(GIVEN))]
                                                               for _ in range(1 + r.integers(2)))
            body = f"110{self.registered_district[i]:03d}{birth:%Y%m%d}{r.integers(100, 999)}"
            national_id = body + _id_check_digit(body)
        onboarding = self.day0 + dt.timedelta(days=int(self.onboard_day[i]))
        closed = ""
        if self.churn_day[i] <= d:
            closed = (self.day0 + dt.timedelta(days=int(self.churn_day[i]))).isoformat()
        rm = int(self.rm[i])
        return [
            f"C{i + 1:08d}", "enterprise" if ent else "individual", name, national_id,
            f"1{r.integers(3, 9)}{r.integers(10**8, 10**9)}", birth.isoformat(),
            "" if ent else "FM"[self.gender[i]], INDUSTRIES[self.industry[i]] if ent else "",
            "" if ent else OCCUPATIONS[self.occupation[i]], contract.INCOME_BANDS[self.income_band[i]],
            district, onboarding.isoformat(), self.home_sub_branch[i], self.rm_ids[rm],
            f"C{self.referrer[i] + 1:08d}" if self.referrer[i] >= 0 else "",
            f"G{self.group[i] + 1:06d}" if self.group[i] >= 0 else "", closed,
        ]

    def _account_row(self, a: int) -> list[str]:
        def date_of(day_index: int) -> str:
            return "" if day_index >= NEVER else (self.day0 + dt.timedelta(days=int(day_index))).isoformat()

        has_principal = self.acct_term_days[a] > 0
        return [f"A{a + 1:09d}", f"C{self.acct_customer[a] + 1:08d}", PRODUCTS[self.acct_product[a]].code,
                date_of(self.acct_opened[a]), date_of(self.acct_maturity[a]) if has_principal else "",
                date_of(self.acct_closed_day[a]), f"{self.acct_rate[a]:.4f}",
                _money(self.acct_principal[a]) if has_principal else ""]

    def ground_truth_rows(self) -> list[list[str]]:
        return [[f"C{i + 1:08d}", ARCHETYPE_NAMES[self.archetype[i]], LIFE_EVENTS[self.life_event[i]],
                 (self.day0 + dt.timedelta(days=int(self.event_day[i]))).isoformat(),
                 (self.day0 + dt.timedelta(days=int(self.churn_day[i]))).isoformat()
                 if self.churn_day[i] < NEVER else ""]
                for i in range(self.config.customers)]


def _classification(days_past_due: int) -> str:
    if days_past_due == 0:
        return "normal"
    if days_past_due <= 90:
        return "special_mention"
    if days_past_due <= 180:
        return "substandard"
    if days_past_due <= 360:
        return "doubtful"
    return "loss"


def _id_check_digit(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(c) * w for c, w in zip(body, weights, strict=True))
    return "10X98765432"[total % 11]


def _write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]], encoding: str) -> tuple[int, str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    data = buffer.getvalue().encode(encoding)
    path.write_bytes(data)
    return len(rows), hashlib.sha256(data).hexdigest()


# Row-level damage the dirty-data knob plants (each ends in quarantine under the rule named).
DIRTY_KINDS = (
    "non_numeric_amount",   # numeric
    "negative_amount",      # non_negative
    "impossible_date",      # valid_date / valid_timestamp
    "unknown_code",         # accepted_values
    "missing_column",       # column_count
    "extra_column",         # column_count
    "duplicate_line",       # unique_key_in_file
    "orphan_reference",     # known_reference
    "very_long_field",      # max_length
    "nul_byte",             # no_nul_bytes
)
_DIRTY_FILES = ("deposit_balances", "loan_balances", "transactions", "service_interactions", "accounts")


def dirty(rows: dict[str, list[list[str]]], rate: float, rng: np.random.Generator,
          damaged_masters: dict[str, list[list[str]]] | None = None) -> dict[str, list[list[str]]]:
    """Damage about ``rate`` of the data lines of the daily files, deterministically.

    The undamaged form of each master line it damages is added to ``damaged_masters``: the bank sends
    those records again, corrected, in the next delivery (``simulate``), as a source system does
    after reading the quarantine report.
    """
    if rate <= 0:
        return rows
    for name in _DIRTY_FILES:
        source = next(f for f in contract.SOURCE_FILES if f.name == name)
        file_rows = rows[name]
        if not file_rows:
            continue
        for i in np.flatnonzero(rng.random(len(file_rows)) < rate):
            row = list(file_rows[i])
            kind = DIRTY_KINDS[rng.integers(len(DIRTY_KINDS))]
            if source.is_master and damaged_masters is not None and kind != "duplicate_line":
                damaged_masters.setdefault(name, []).append(list(row))
            money = [j for j, c in enumerate(source.columns) if c.kind == "money" and not c.nullable]
            dated = [j for j, c in enumerate(source.columns) if c.kind in ("date", "timestamp") and not c.nullable]
            coded = [j for j, c in enumerate(source.columns) if c.allowed]
            if kind == "non_numeric_amount" and money:
                row[money[0]] = row[money[0]].replace("0", "O", 1) + "x"
            elif kind == "negative_amount" and money:
                row[money[0]] = "-" + row[money[0]]
            elif kind == "impossible_date" and dated:
                row[dated[0]] = "2026-02-30" + row[dated[0]][10:]
            elif kind == "unknown_code" and coded:
                row[coded[0]] = "unknown"
            elif kind == "missing_column":
                row = row[:-1]
            elif kind == "extra_column":
                row = [*row, "surplus"]
            elif kind == "duplicate_line":
                file_rows.append(list(row))
                continue
            elif kind == "very_long_field":
                row[-1] = row[-1] + "x" * 300
            elif kind == "nul_byte":
                row[0] = row[0][:3] + "\x00" + row[0][3:]
            else:  # orphan_reference, and the fallback for files without the column the kind needs
                ref = next(iter(source.references))
                row[source.column_names.index(ref)] = "X" + row[source.column_names.index(ref)][1:]
            file_rows[i] = row
    return rows


def _control_amount_total(source: contract.SourceFile, file_rows: list[list[str]]) -> str:
    """The contract's rule: lines with the right field count whose amount is a number."""
    idx = source.column_names.index(source.amount_column)
    cents = sum(round(float(r[idx]) * 100) for r in file_rows
                if len(r) == len(source.columns) and contract.MONEY_PATTERN.fullmatch(r[idx]))
    return CONTROL_AMOUNT.format(cents / 100)


def write_delivery(folder: Path, business_date: dt.date, rows: dict[str, list[list[str]]]) -> None:
    """Write one delivery folder: every contract file plus ``control.csv``."""
    folder.mkdir(parents=True, exist_ok=True)
    control = []
    for source in contract.SOURCE_FILES:
        encoding = "gbk" if source.name in GBK_FILES else "utf-8"
        file_rows = rows[source.name]
        count, digest = _write_csv(folder / source.file_name, source.column_names, file_rows, encoding)
        total = ""
        if source.amount_column:
            total = _control_amount_total(source, file_rows)
        control.append([business_date.isoformat(), source.file_name, encoding, str(count), total, digest])
    _write_csv(folder / contract.CONTROL_FILE, contract.CONTROL_COLUMNS, control, "utf-8")


def simulate(config: SimulationConfig, landing_dir: Path, truth_dir: Path) -> list[Path]:
    """Write every delivery of the date range; return the folders written."""
    bank = Bank(config)
    folders = []
    resend: dict[str, list[list[str]]] = {}
    progress = Progress("simulating", bank.ndays, "days", log)
    for d, day in enumerate(config.days):
        folder = landing_dir / day.isoformat()
        rows = bank.step(d)
        for name, lines in resend.items():  # yesterday's damaged master records, sent again corrected
            delivered = {r[0] for r in rows[name]}
            rows[name].extend(line for line in lines if line[0] not in delivered)
        resend = {}
        write_delivery(folder, day, dirty(rows, config.dirty_rate, _rng(config.seed, 4, d), resend))
        folders.append(folder)
        progress.advance()
    truth_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(truth_dir / "customer_truth.csv",
               ("customer_id", "archetype", "life_event", "event_date", "churn_date"),
               bank.ground_truth_rows(), "utf-8")
    return folders
