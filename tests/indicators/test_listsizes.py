"""REAL 2013 list sizes, and the SYNTHETIC generator calibrated to them (KS distance)."""

from __future__ import annotations

import csv
import gzip
import io
import re

import numpy as np
import pytest
from scipy import stats as sps

from analysis.core import catalogue
from analysis.indicators.sources import listsizes
from analysis.indicators.synthetic import panel as synthetic


@pytest.fixture(scope="module")
def real():
    return listsizes.read_list_sizes()


def test_list_sizes_sum_the_published_bands(real):
    text = gzip.decompress(listsizes.stored_file().read_bytes()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    totals = {r["Practice Code"]: sum(int(r[c]) for c in listsizes.BAND_COLUMNS) for r in rows}
    nonzero = {k: v for k, v in totals.items() if v > 0}
    assert len(rows) == 9754 and len(nonzero) == 8068
    assert dict(zip(real["practice_code"], real["list_size"], strict=True)) == nonzero


def test_ks_distance_is_the_largest_ecdf_gap(real):
    sample = np.array([1000.0, 5000.0, 9000.0])
    grid = np.concatenate([sample, real["list_size"].to_numpy(dtype=float)])
    gap = max(abs(np.mean(sample <= x) - np.mean(real["list_size"].to_numpy() <= x)) for x in grid)
    assert listsizes.ks_distance(sample, real["list_size"]) == pytest.approx(gap, abs=1e-12)


@pytest.fixture(scope="module")
def calibrated():
    return synthetic.generate_panel()  # the stored panel's defaults


def _lists_2013(panel):
    obs = panel.observations
    return obs.loc[(obs["indicator_id"] == "PRE01") & (obs["year"] == 2013), "denominator"]


def test_calibrated_generator_is_close_to_the_real_2013_sizes(real, calibrated):
    earlier, _ = synthetic.generate_panel(list_sizes="lognormal", small_networks=0)
    ks_calibrated = listsizes.ks_distance(_lists_2013(calibrated[0]), real["list_size"])
    ks_stored = listsizes.ks_distance(_lists_2013(earlier), real["list_size"])
    assert ks_calibrated < 0.05 < ks_stored
    # an independent two-sample statistic agrees, and the data page reports these numbers
    assert ks_calibrated == pytest.approx(
        sps.ks_2samp(_lists_2013(calibrated[0]), real["list_size"]).statistic
    )
    entry = next(d for d in catalogue.load() if "list_size" in d.path)
    shown = [float(v) for v in re.findall(r"(0\.\d{3}) with", entry.title)]
    assert shown == [round(ks_calibrated, 3), round(ks_stored, 3)]


def test_small_networks_have_2_to_10_practices_and_no_effect(calibrated):
    panel, truth = calibrated
    small = panel.organisations[panel.organisations["organisation_id"].str.startswith("NET")]
    assert len(small) == 40
    assert small["n_practices"].between(2, 10).all()
    assert set(panel.organisations["organisation_id"]) >= {f"ORG0{i}" for i in range(1, 9)}
    effects = truth[truth["organisation_id"].str.startswith("NET")]
    planted = effects[effects["parameter"].isin(["level_log_ratio", "trend_log_ratio"])]
    assert (planted["value"] == 0).all()
    members = panel.membership[panel.membership["organisation_id"].str.startswith("NET")]
    assert (
        not members["practice_code"]
        .isin(
            panel.membership.loc[
                panel.membership["organisation_id"].str.startswith("ORG"), "practice_code"
            ]
        )
        .any()
    )
