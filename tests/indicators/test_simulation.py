"""The simulation study (analysis.indicators.simulation, issue 14): truth, determinism, summaries.

Integrals against scipy quadrature, Monte-Carlo summaries against hand computation, and the
batch command's output against an in-process run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy import stats as sps

from analysis.indicators import simulation as sim
from analysis.indicators.simulation_report import load_replications, method_choices


def _quad_moment(level, sd, power):
    def f(u):
        return (1 / (1 + np.exp(-(level + u)))) ** power * sps.norm.pdf(u, scale=sd)

    return integrate.quad(f, -12 * sd, 12 * sd)[0]


@pytest.mark.parametrize("level, sd", [(-0.85, 0.2), (0.5, 0.5), (-3.0, 1.0)])
def test_expected_rate_and_variance_by_quadrature(level, sd):
    assert float(sim.expected_rate(level, sd)) == pytest.approx(
        _quad_moment(level, sd, 1), rel=1e-9
    )
    variance = _quad_moment(level, sd, 2) - _quad_moment(level, sd, 1) ** 2
    assert sim.rate_variance(level, sd) == pytest.approx(variance, rel=1e-7)


def test_rate_variance_of_a_mixture():
    levels = np.array([-1.0, -1.0, 0.0])
    first = [_quad_moment(x, 0.3, 1) for x in levels]
    second = [_quad_moment(x, 0.3, 2) for x in levels]
    expected = np.mean(second) - np.mean(first) ** 2
    assert sim.rate_variance(levels, 0.3) == pytest.approx(expected, rel=1e-7)


def test_replicate_is_a_pure_function_of_its_seed():
    one = sim.replicate(11, sd=0.3, sizes=(2, 10, 50))
    two = sim.replicate(11, sd=0.3, sizes=(2, 10, 50))
    pd.testing.assert_frame_equal(one, two)
    other = sim.replicate(12, sd=0.3, sizes=(2, 10, 50))
    assert not one["estimate"].equals(other["estimate"])
    level = one[one["analysis"] == "level"]
    assert set(level["method"]) == set(sim.LEVEL_METHODS)
    # effects 0, +0.2, -0.2 at three sizes
    assert len(level) == len(sim.LEVEL_METHODS) * 9


def test_batches_equal_one_serial_run():
    serial = sim.simulate(4, sds=(0.3,), sizes=(2, 30))
    batches = pd.concat(
        [
            sim.simulate(2, start=0, sds=(0.3,), sizes=(2, 30)),
            sim.simulate(2, start=2, sds=(0.3,), sizes=(2, 30)),
        ],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(serial, batches)


def test_null_level_tests_are_calibrated_with_dl_not_sampling_only():
    reps = sim.simulate(30, sds=(0.5,), effects=(0.0,), sizes=(30, 100))
    level = reps[reps["analysis"] == "level"]
    rate = level.groupby("method")["reject"].mean()
    # 60 null organisations per method: sampling-only rejects most, DL about 5%
    assert rate["none"] > 0.5
    assert rate["dl"] < 0.15
    assert rate["winsorised"] >= rate["dl"]


def test_summarise_against_hand_computation():
    frame = pd.DataFrame(
        {
            "replication": [0, 1, 2, 3],
            "sd": 0.2,
            "analysis": "level",
            "method": "dl",
            "effect": 0.0,
            "size": 10,
            "estimate": [0.1, 0.3, -0.1, 0.1],
            "truth": 0.0,
            "ci_lower": [-0.1, 0.05, -0.3, -0.2],
            "ci_upper": [0.3, 0.5, 0.1, 0.4],
            "reject": [False, True, False, False],
        }
    )
    row = sim.summarise(frame).iloc[0]
    errors = np.array([0.1, 0.3, -0.1, 0.1])
    assert row["bias"] == pytest.approx(0.1)
    assert row["bias_mcse"] == pytest.approx(errors.std(ddof=1) / 2)
    assert row["rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
    assert row["rmse_mcse"] == pytest.approx(
        np.std(errors**2, ddof=1) / (2 * np.sqrt(np.mean(errors**2)) * 2)
    )
    assert row["coverage"] == pytest.approx(0.75)
    assert row["coverage_mcse"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    assert row["reject_rate"] == pytest.approx(0.25) and bool(row["null_true"])


def test_calibration_and_choices():
    reps = sim.simulate(20, sds=(0.3,), sizes=(5, 50))
    calibration = sim.calibration(reps)
    assert list(calibration["method"]) == list(sim.LEVEL_METHODS)
    dl = calibration.set_index("method").loc["dl"]
    level = reps[(reps["analysis"] == "level") & (reps["method"] == "dl")]
    null = level[level["effect"] == 0]
    assert dl["type1_error"] == pytest.approx(null["reject"].mean())
    assert dl["type1_mcse"] == pytest.approx(
        np.sqrt(dl["type1_error"] * (1 - dl["type1_error"]) / len(null))
    )
    choices = method_choices(calibration, sim.summarise(reps)).set_index("option")
    assert choices.loc["score", "chosen"] == "effect"
    assert choices.loc["variation_measure", "chosen"] == "tau2_link"


def test_command_writes_the_batch(tmp_path):
    out = tmp_path / "batch.csv"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.indicators.simulation",
            "--batch",
            "1",
            "--replications",
            "2",
            "--sd",
            "0.3",
            *("--effect", "0.0", "--effect", "0.3", "--size", "3", "--size", "7"),
            *("--alpha", "0.1", "--output", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = pd.read_csv(out)
    expected = sim.simulate(2, start=2, sds=(0.3,), effects=(0.0, 0.3), sizes=(3, 7), alpha=0.1)
    assert written["replication"].tolist() == expected["replication"].tolist()
    assert set(written.loc[written["analysis"] == "level", "size"]) == {3, 7}
    assert set(written["effect"].dropna().abs()) == {0.0, 0.3}
    # written at full precision: the CSV holds exactly the floats of an in-process run
    pd.testing.assert_frame_equal(written, expected, check_dtype=False, rtol=0, atol=0)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis.indicators.simulation",
            "--batch",
            "-1",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --batch -1")
    assert "Traceback" not in bad.stderr


def _gathered(folder, frame, fixed):
    folder.mkdir(parents=True)
    frame.to_csv(folder / "results.csv", index=False)
    record = {"title": "t", "grid": {"batch": [0]}, "fixed": fixed, "keys": ["k1", "k2"]}
    (folder / "gathered.json").write_text(json.dumps(record))


def test_load_replications_reads_the_sweep_and_its_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPENDIUM_BUILD", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"sweeps/simulation/results.csv: no gathered "
                       r"results of sweep 'simulation'; run `compendium run`"):  # fmt: skip
        load_replications()
    frame = sim.simulate(1, sds=(0.3,), alpha=0.1)
    _gathered(tmp_path / "sweeps" / "simulation", frame.assign(batch=0),
              {"replications": 1, "alpha": 0.1, "sd": [0.3]})  # fmt: skip
    loaded = load_replications()
    pd.testing.assert_frame_equal(loaded.frame, frame, check_dtype=False)
    assert loaded.alpha == 0.1 and loaded.tasks == 2 and loaded.title == "t"
    assert loaded.settings == {"batch": [0], "replications": 1, "alpha": 0.1, "sd": [0.3]}
    _gathered(tmp_path / "sweeps" / "other", frame.drop(columns="reject"), {})
    with pytest.raises(ValueError, match=r"other/results.csv: missing column\(s\) \['reject'\]"):
        load_replications("other")
