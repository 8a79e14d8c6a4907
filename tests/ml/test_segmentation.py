"""The segmentation job: its choice made by the data, names that fit their members, ids kept month to
month, one run per month, against a real Postgres."""

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from ml import segmentation
from ml.segmentation import FEATURES, choose_model, match_segments, name_segments, segment_new_months, standing
from warehouse.schema import ensure_schema

JULY, AUGUST = dt.date(2026, 7, 1), dt.date(2026, 8, 1)


@pytest.fixture
def conn(conn):
    """A new database set up as the product's set-up does it (the job checks the schema's version)."""
    ensure_schema(conn)
    conn.commit()
    return conn


def _customers(seed=0, n=400):
    """Four planted behaviours: wealthy savers, borrowers, busy digital transactors, the dormant."""
    rng = np.random.default_rng(seed)
    groups = np.arange(n) % 4
    frame = pd.DataFrame({
        "daily_average_deposit_balance_cny": np.where(groups == 0, 500_000, np.where(groups == 3, 200, 8_000))
        * rng.lognormal(0, 0.3, n),
        "daily_average_wealth_balance_cny": np.where(groups == 0, 300_000 * rng.lognormal(0, 0.3, n), 0.0),
        "daily_average_loan_balance_cny": np.where(groups == 1, 300_000 * rng.lognormal(0, 0.3, n), 0.0),
        "transaction_count": np.round(np.where(groups == 2, 80, np.where(groups == 3, 0, 8))
                                      * rng.lognormal(0, 0.2, n)),
        "digital_transaction_share": np.where(groups == 2, 0.9, np.where(groups == 3, 0.0, 0.4)),
        "accounts_held": np.where(groups == 0, 3, np.where(groups == 1, 2, 1)),
        "current_value_cny": np.where(groups == 0, 3000, np.where(groups == 1, 900, -20)) + rng.normal(0, 10, n),
    })
    return frame, groups


def _load_month(conn, month, frame, closed=()):
    with conn.cursor() as cur:
        cur.execute("create schema if not exists marts")
        cur.execute("""create table if not exists marts.customer_value_monthly (customer_id text, month_start_date date,
            is_complete_month boolean, is_closed_in_month boolean, daily_average_deposit_balance_cny numeric,
            daily_average_wealth_balance_cny numeric, daily_average_loan_balance_cny numeric, transaction_count int,
            digital_transaction_count int, accounts_held int, current_value_cny numeric)""")
        for i, row in frame.iterrows():
            customer_id = f"C{i:08d}"
            cur.execute("insert into marts.customer_value_monthly values "
                        "(%s, %s, true, %s, %s, %s, %s, %s, %s, %s, %s)",
                        (customer_id, month, customer_id in closed, float(row.iloc[0]), float(row.iloc[1]),
                         float(row.iloc[2]), int(row.iloc[3]), int(round(row.iloc[3] * row.iloc[4])),
                         int(row.iloc[5]), float(row.iloc[6])))
    conn.commit()


def test_the_data_chooses_the_shape_and_the_planted_groups_are_found(conn):
    frame, groups = _customers()
    _load_month(conn, JULY, frame)
    [run_id] = segment_new_months(conn)
    with conn.cursor() as cur:
        cur.execute("select customer_id, segment_id from ml.customer_segments where run_id = %s order by 1", (run_id,))
        labels = [segment for _, segment in cur.fetchall()]
        cur.execute("select clusters, preprocessing, selection from ml.segmentation_runs")
        clusters, preprocessing, selection = cur.fetchone()
    assert adjusted_rand_score(groups, labels) > 0.95
    assert clusters == 4 and preprocessing in segmentation.PREPROCESSINGS
    scored = {(c["preprocessing"], c["clusters"]) for c in selection["candidates"]}
    assert len(scored) == len(segmentation.PREPROCESSINGS) * len(segmentation.SEGMENT_COUNTS)
    assert all(0 <= c["stability"] <= 1 for c in selection["candidates"])


def test_choice_rule_takes_the_finest_stable_partition_of_the_more_stable_preprocessing():
    candidates = [segmentation.Candidate("signed_log_robust", k, s, 0.3) for k, s in ((4, 0.99), (5, 0.95), (6, 0.7))]
    # one lucky k that reproduces, above a smaller k that does not, does not make a space with groups in it
    candidates += [segmentation.Candidate("signed_log_standard", k, s, 0.5) for k, s in ((4, 0.6), (5, 0.99), (6, 0.6))]
    assert choose_model(candidates) == candidates[1]
    # a segment smaller than MIN_SEGMENT_SHARE disqualifies its candidate
    tiny = segmentation.Candidate("signed_log_robust", 7, 0.97, 0.3, smallest_share=0.001)
    assert choose_model(candidates + [tiny]) == candidates[1]
    # a finer k whose stability grazes the line within its standard error does not count
    grazing = segmentation.Candidate("signed_log_robust", 8, 0.91, 0.3, stability_error=0.02)
    assert choose_model(candidates + [grazing]) == candidates[1]
    clear = replace(grazing, stability_error=0.005)
    assert choose_model(candidates + [clear]) == clear
    # nothing reproduces: the most stable candidate
    shaky = [segmentation.Candidate("signed_log_robust", k, 0.5 + k / 100, 0.2) for k in (4, 5)]
    assert choose_model(shaky).clusters == 5
    with pytest.raises(ValueError, match="too few customers"):
        choose_model([])


def test_the_keep_check_stops_once_settled_and_a_doubtful_shape_runs_every_split():
    """The keep check (stability against KEEP_MIN) stops after KEEP_RESAMPLES_MIN splits when the
    planted groups reproduce beyond doubt; on structureless data it runs all STABILITY_RESAMPLES, and
    the choice's scoring (no line to settle above) always does."""
    frame, _ = _customers(n=800)
    scaled = segmentation.preprocessor("signed_log_standard").fit_transform(frame[list(FEATURES)].to_numpy())
    rng = np.random.default_rng(0)
    stability, error, splits = segmentation._stability(scaled, 4, rng, segmentation.KEEP_MIN)
    assert splits == segmentation.KEEP_RESAMPLES_MIN and stability - 3 * error >= segmentation.KEEP_MIN
    assert segmentation._stability(scaled, 4, rng)[2] == segmentation.STABILITY_RESAMPLES
    noise = np.random.default_rng(1).normal(size=(800, 7))
    stability, _, splits = segmentation._stability(noise, 6, rng, segmentation.KEEP_MIN)
    assert splits == segmentation.STABILITY_RESAMPLES and stability < 0.9


def test_a_segment_named_after_a_feature_stands_out_on_it():
    frame, groups = _customers()
    stands = [standing(frame, groups == g) for g in range(4)]
    names = [en for en, _ in name_segments(stands)]
    assert len(set(names)) == 4
    overall = frame.median()
    for g, name in enumerate(names):
        members = frame[groups == g].median()
        for (feature, side), (label, _) in segmentation.NAMES.items():
            if label in name.split(" · "):
                assert (members[feature] > overall[feature]) if side == "high" else \
                    (members[feature] < overall[feature]), (name, feature)
    assert names[0].split(" · ")[0] in ("wealth investors", "high-balance savers", "multi-product", "high value")
    assert names[1].startswith("borrowers")
    assert names[3].split(" · ")[0] in ("low activity", "small balances", "branch and ATM", "low value")


def test_names_are_unique_even_when_segments_stand_out_alike():
    base = dict.fromkeys(FEATURES, 0.5)
    alike = [{**base, "daily_average_loan_balance_cny": 0.9, "transaction_count": t} for t in (0.6, 0.4, 0.5)]
    names = name_segments([*alike, base])
    assert len({en for en, _ in names}) == 4 and len({zh for _, zh in names}) == 4
    assert names[0][0] == "borrowers · more active" and names[3] == segmentation.EVERYDAY_NAME
    assert all(en.startswith("borrowers") for en, _ in names[:3])


def test_hungarian_matching_keeps_ids_gives_new_ones_and_retires():
    frame, groups = _customers()
    matrix = frame[list(FEATURES)].to_numpy()
    fitted = segmentation.fit(matrix, segmentation.preprocessor("signed_log_robust").fit(matrix), 4)
    centres = segmentation.centroids_log(fitted.pipeline)
    # last month: ids 7, 3 and 9 at three of this month's centres (permuted), and id 5 far from all
    previous = {7: centres[2], 3: centres[0], 9: centres[3], 5: centres[1] + 40}
    mapping, new_ids, retired = match_segments(fitted.pipeline, previous, next_id=10)
    assert mapping == {0: 3, 1: 10, 2: 7, 3: 9}
    assert new_ids == [10] and retired == [5]


def test_ids_are_kept_next_month_a_rerun_replaces_and_closed_customers_are_left_out(conn):
    frame, groups = _customers()
    _load_month(conn, JULY, frame)
    later, _ = _customers(seed=1)
    _load_month(conn, AUGUST, later, closed={"C00000000", "C00000001"})
    first = segment_new_months(conn)
    assert len(first) == 2
    assert segment_new_months(conn) == []  # nothing new
    [rerun] = segment_new_months(conn, months=[AUGUST])
    with conn.cursor() as cur:
        cur.execute("select month_start_date, count(*) from ml.segmentation_runs group by 1 order by 1")
        assert [n for _, n in cur.fetchall()] == [1, 1]
        cur.execute("""select count(*), count(*) filter (where july.segment_id = august.segment_id)
                       from ml.customer_segments july join ml.customer_segments august using (customer_id)
                       where july.run_id = %s and august.run_id = %s""", (first[0], rerun))
        both, kept = cur.fetchone()
        assert both == len(frame) - 2 and kept == both
        cur.execute("select count(*) from ml.customer_segments where run_id = %s and customer_id in "
                    "('C00000000', 'C00000001')", (rerun,))
        assert cur.fetchone()[0] == 0
        cur.execute("""select selection -> 'kept_last_months_shape', selection -> 'new_segment_ids'
                       from ml.segmentation_runs where run_id = %s""", (rerun,))
        assert cur.fetchone() == (True, [])
        cur.execute("""select count(*), count(*) filter (where segment_name_zh <> '' and profile like '%%customers;%%'
                                                           and outlier_threshold > 0)
                       from ml.segment_profiles where run_id = %s""", (rerun,))
        profiles, described = cur.fetchone()
        assert profiles == described == 4


def test_outliers_lie_beyond_their_segments_fence(conn):
    frame, _ = _customers()
    frame.loc[5, "transaction_count"] = 5_000  # one customer unlike anybody
    _load_month(conn, JULY, frame)
    [run_id] = segment_new_months(conn)
    with conn.cursor() as cur:
        cur.execute("""select s.customer_id, s.distance_to_centroid > p.outlier_threshold, s.is_outlier
                       from ml.customer_segments s join ml.segment_profiles p using (run_id, segment_id)
                       where run_id = %s""", (run_id,))
        rows = cur.fetchall()
    assert all(beyond == flagged for _, beyond, flagged in rows)
    assert ("C00000005", True, True) in rows
    assert sum(flagged for *_, flagged in rows) < len(rows) * 0.05


def test_a_month_with_no_customers_fails_with_a_message(conn):
    frame, _ = _customers(n=8)
    _load_month(conn, JULY, frame)
    with pytest.raises(RuntimeError, match="no customers valued in 2026-08.*run the customer-value DAG"):
        segment_new_months(conn, months=[AUGUST])


def test_a_first_partial_month_is_segmented_provisionally_and_again_once_complete(conn):
    frame, _ = _customers()
    _load_month(conn, JULY, frame)
    with conn.cursor() as cur:
        cur.execute("update marts.customer_value_monthly set is_complete_month = false")
    conn.commit()
    assert len(segment_new_months(conn)) == 1  # nothing complete yet: the latest month, provisionally
    assert segment_new_months(conn) == []
    with conn.cursor() as cur:
        cur.execute("update marts.customer_value_monthly set is_complete_month = true")
    conn.commit()
    [run_id] = segment_new_months(conn)
    with conn.cursor() as cur:
        cur.execute("select run_id, selection -> 'month_complete' from ml.segmentation_runs")
        assert cur.fetchall() == [(run_id, True)]


def test_a_bank_too_small_to_choose_k_gets_one_segment(conn):
    frame, _ = _customers(n=6)
    _load_month(conn, JULY, frame)
    [run_id] = segment_new_months(conn)
    with conn.cursor() as cur:
        cur.execute("select clusters, silhouette from ml.segmentation_runs")
        assert cur.fetchone() == (1, None)
        cur.execute("select count(*), count(distinct segment_id) from ml.customer_segments")
        assert cur.fetchone() == (6, 1)


def test_a_customer_on_the_border_stays_in_last_months_segment_and_a_clear_mover_moves():
    from sklearn.cluster import KMeans
    from sklearn.pipeline import Pipeline

    axis = 4  # a feature taken as it is (no log): distances can be worked out by hand
    centres = np.zeros((2, len(FEATURES)))
    centres[1, axis] = 10.0
    scaling = segmentation.fixed_preprocessor([0.0] * len(FEATURES), [1.0] * len(FEATURES))
    kmeans = KMeans(n_clusters=2, n_init=1, random_state=0).fit(centres)
    pipeline = Pipeline([*scaling.steps, ("kmeans", kmeans)])
    near, far = int(kmeans.predict(centres[:1])[0]), int(kmeans.predict(centres[1:])[0])
    mapping = {near: 3, far: 8}  # the label at 0 is segment 3, the one at 10 segment 8
    matrix = np.zeros((4, len(FEATURES)))
    matrix[:, axis] = [4.8, 4.0, 4.8, 4.8]  # segment 8's centre is 5.2 / 6.0 away against 4.8 / 4.0 to 3's
    fitted = segmentation.assign(pipeline, segmentation.scaled_space(pipeline, matrix))
    assert list(fitted.labels) == [near] * 4
    last_month = np.array([8, 8, 5, np.nan])  # C1, C2 were in 8; C3 in 5, retired; C4 is new
    held, moved = segmentation.stick_to_previous(fitted, mapping, last_month)
    # C1: 5.2 <= 1.2 x 4.8, stays in 8; C2: 6.0 > 1.2 x 4.0, moves to 3; C3's segment is gone; C4 is new
    assert [mapping[int(label)] for label in held.labels] == [8, 3, 3, 3]
    assert moved == 1
    assert np.allclose(held.distances, [5.2, 4.0, 4.8, 4.8])
    assert held.inertia == pytest.approx(5.2 ** 2 + 4.0 ** 2 + 4.8 ** 2 * 2)
