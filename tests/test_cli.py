"""The ``carbs`` command: create, ask, tell, status, front, best, plot, export; clear errors;
three shell workers asking and telling at once on one study."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("optuna")

from carbs.cli import main
from carbs.cli_studies import load_study
from carbs.integrations.optuna import trial_id

SPACE = {
    "params": [
        {
            "name": "lr",
            "space": {"type": "LogSpace", "min": 1e-5, "max": 0.1},
            "search_center": 1e-3,
        },
        {
            "name": "width",
            "space": {"type": "LogSpace", "min": 8, "max": 1024, "is_integer": True},
            "search_center": 64,
        },
        {
            "name": "optimizer",
            "space": {"type": "CategoricalSpace", "choices": ["adam", "sgd"]},
            "search_center": "adam",
        },
        {"name": "seed", "space": {"type": "FixedSpace"}, "search_center": 7},
    ],
    "config": {"num_random_samples": 3, "resample_frequency": 0},
}


def loss(params: dict[str, Any]) -> float:
    return (math.log10(params["lr"]) + 3) ** 2 + 10 / params["width"]


@pytest.fixture
def study(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A created study; the common args of later commands."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    storage = ["--storage", f"sqlite:///{tmp_path / 'studies.db'}"]
    assert main(["create", "sweep", "--space", "space.json", *storage]) == 0
    return ["sweep", *storage]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, Any, str]:
    code = main(args)
    captured = capsys.readouterr()
    out = captured.out.strip()
    return code, json.loads(out) if out and out[0] in "[{" else out, captured.err


def test_a_sweep_from_the_shell(study: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    name, storage = study[0], study[1:]
    for _ in range(6):
        code, asked, _ = run(["ask", *study], capsys)
        assert code == 0 and asked["params"]["seed"] == 7
        if asked["id"] == 2:
            assert run(["tell", name, "2", "--failure", *storage], capsys)[0] == 0
            continue
        cost = str(float(asked["params"]["width"]))
        output = str(loss(asked["params"]))
        told = ["tell", name, str(asked["id"]), "--output", output, "--cost", cost, *storage]
        assert run(told, capsys)[:2] == (0, {"id": asked["id"], "state": "COMPLETE"})
    code, status, _ = run(["status", *study], capsys)
    assert status["trials"] == {"COMPLETE": 5, "FAIL": 1} and status["front_size"] >= 1
    code, front, _ = run(["front", *study], capsys)
    costs = [member["cost"] for member in front]
    assert costs == sorted(costs) and len(front) == status["front_size"]
    code, best, _ = run(["best", *study], capsys)
    assert best["output"] == status["best"]["output"] == min(m["output"] for m in front)
    cheapest = front[0]["cost"]
    _, cheap_best, _ = run(["best", *study, "--max-cost", str(cheapest)], capsys)
    assert cheap_best["cost"] <= cheapest
    _, rows, _ = run(["export", *study, "--format", "json"], capsys)
    assert [r["state"] for r in rows].count("FAIL") == 1 and all(r["seed"] == 7 for r in rows)
    _, csv_text, _ = run(["export", *study], capsys)
    assert csv_text.splitlines()[0] == "id,state,output,cost,lr,width,optimizer,seed"
    assert run(["plot", *study, "--out", "front.png"], capsys)[0] == 0
    assert Path("front.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "nope"], "no study 'nope'"),
        (["tell", "sweep", "99", "--output", "1", "--cost", "1"], "no trial 99"),
        (["tell", "sweep", "0", "--output", "1"], "--cost"),
        (["tell", "sweep", "0", "--output", "1", "--failure"], "--failure"),
        (["tell", "sweep", "0", "--output", "1", "--cost", "-2"], "--cost"),
        (["create", "sweep", "--space", "space.json"], "already exists"),
        (["create", "other", "--space", "missing.json"], "cannot read"),
    ],
)
def test_clear_errors(
    study: list[str], capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    storage = study[1:]
    assert main(["ask", *study]) == 0
    capsys.readouterr()
    code, _, err = run([*args, *storage], capsys)
    assert code == 2 and message in err


@pytest.mark.parametrize(
    "url", ["foo://bar", "notaurl", "sqlite:////no/such/folder/x.db", "journal:", "journal:/"]
)
def test_a_storage_that_cannot_be_opened_is_a_clear_error(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Each printed a traceback and exited with 1.
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["status", "sweep", "--storage", url], capsys)
    assert code == 2 and f"cannot open the storage {url!r}" in err


def test_a_mistyped_storage_file_is_refused_and_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused as an unknown study, but a new, empty typo.db was left behind.
    monkeypatch.chdir(tmp_path)
    for url in ("sqlite:///typo.db", "journal:typo.log"):
        code, _, err = run(["status", "sweep", "--storage", url], capsys)
        assert code == 2 and "no file 'typo." in err
    assert list(tmp_path.iterdir()) == []


def test_a_tell_checks_its_cost_against_the_reports(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    name, storage = study[0], study[1:]
    for _ in range(2):
        main(["ask", *study])
    main(["report", name, "0", "--output", "2.0", "--cost", "6", *storage])
    capsys.readouterr()
    # A final cost below what the run had reported was taken.
    code, _, err = run(["tell", name, "0", "--output", "1", "--cost", "2", *storage], capsys)
    assert code == 2 and "less than the 6.0 already reported" in err
    assert run(["tell", name, "0", "--output", "1", "--cost", "6", *storage], capsys)[0] == 0
    # A diverged output is a failure, and a failure needs no cost (it asked for one).
    told = run(["tell", name, "1", "--output", "nan", *storage], capsys)
    assert told[:2] == (0, {"id": 1, "state": "FAIL"})


def test_a_negative_output_in_scientific_notation_is_a_number(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse took "-1e-3" for an unknown flag: "expected one argument", exit 2.
    name, storage = study[0], study[1:]
    main(["ask", *study])
    main(["report", name, "0", "--output", "-2e-3", "--cost", "1", *storage])
    capsys.readouterr()
    told = run(["tell", name, "0", "--output", "-1e-3", "--cost", "2", *storage], capsys)
    assert told[:2] == (0, {"id": 0, "state": "COMPLETE"})
    assert run(["best", *study], capsys)[1]["output"] == -1e-3


def test_best_prints_null_when_there_is_no_best_run(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A script reading ``carbs best`` as JSON gets ``null``, not an empty line."""
    capsys.readouterr()
    assert run(["best", *study], capsys)[:2] == (0, "null")  # no run yet
    asked = run(["ask", *study], capsys)[1]
    told = ["tell", study[0], str(asked["id"]), "--output", "1.0", "--cost", "50", *study[1:]]
    assert run(told, capsys)[0] == 0
    assert run(["best", *study, "--max-cost", "10"], capsys)[:2] == (0, "null")
    assert run(["best", *study, "--max-cost", "50"], capsys)[1]["output"] == 1.0


def test_an_already_told_run_is_an_error(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    storage = study[1:]
    main(["ask", *study])
    assert main(["tell", "sweep", "0", "--output", "1", "--cost", "1", *storage]) == 0
    capsys.readouterr()
    code, _, err = run(["tell", "sweep", "0", "--output", "1", "--cost", "1", *storage], capsys)
    assert code == 2 and "already told (COMPLETE)" in err


def test_a_diverged_run_is_told_as_a_failure(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--output nan`` or ``inf`` (a diverged loss) is a failure, as ``observe`` records it:
    Optuna would otherwise store ``inf`` as a finished trial and rank it best when
    maximizing."""
    name, storage = study[0], study[1:]
    for output in ("nan", "inf", "-inf"):
        trial = run(["ask", *study], capsys)[1]["id"]
        told = ["tell", name, str(trial), f"--output={output}", "--cost", "3", *storage]
        assert run(told, capsys)[:2] == (0, {"id": trial, "state": "FAIL"})
    _, rows, _ = run(["export", *study, "--format", "json"], capsys)
    assert [(r["state"], r["cost"]) for r in rows] == [("FAIL", 3.0)] * 3
    assert run(["status", *study], capsys)[1]["trials"] == {"FAIL": 3}


def test_a_lost_job_is_forgotten_not_learnt_as_a_failure(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    name, storage = study[0], study[1:]
    asked = [run(["ask", *study], capsys)[1] for _ in range(4)]
    for trial in asked[:2]:
        cost = str(float(trial["params"]["width"]))
        told = ["tell", name, str(trial["id"]), "--output", str(loss(trial["params"]))]
        assert run([*told, "--cost", cost, *storage], capsys)[0] == 0
    lost, crashed = asked[2]["id"], asked[3]["id"]
    forgot = run(["forget", name, str(lost), *storage], capsys)
    assert forgot[:2] == (0, {"id": lost, "state": "FAIL", "lost": True})
    assert run(["tell", name, str(crashed), "--failure", "--cost", "2", *storage], capsys)[0] == 0
    code, _, err = run(["forget", name, str(lost), *storage], capsys)
    assert code == 2 and "already told (FAIL)" in err
    code, _, err = run(["forget", name, "99", *storage], capsys)
    assert code == 2 and "no trial 99" in err
    status = run(["status", *study], capsys)[1]
    assert status["trials"] == {"COMPLETE": 2, "FAIL": 2} and status["lost"] == 1
    sweep, sampler, _ = load_study(name, storage[1])
    optimizer = sampler.sync(sweep)
    failures = [o.suggestion_id for o in optimizer.observations if o.is_failure]
    assert failures == [trial_id(crashed)]  # the lost trial taught nothing
    assert optimizer.observation_count == 3 and not optimizer.outstanding_suggestions


def test_bad_values_leave_nothing_behind(
    study: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A refused report records nothing; carbs' own refusals and unwritable files are
    one-line errors with exit status 2, not tracebacks."""
    name, storage = study[0], study[1:]
    trial = str(run(["ask", *study], capsys)[1]["id"])
    reported = ["report", name, trial, "--output", "1", "--cost", "1", *storage]
    code, _, err = run([*reported, "--planned-cost", "nan"], capsys)
    assert code == 2 and "--planned-cost must be a finite number > 0" in err
    _, rows, _ = run(["export", *study, "--format", "json"], capsys)
    assert rows[0]["state"] == "RUNNING"
    assert run([*reported, "--planned-cost", "10"], capsys)[1]["step"] == 1  # the first report
    told = ["tell", name, trial, "--output", "1", "--cost", "1", *storage]
    assert run(told, capsys)[0] == 0
    for bad_cost in ("-3", "nan"):
        code, _, err = run(["best", *study, "--max-cost", bad_cost], capsys)
        assert code == 2 and err.startswith("carbs best: max_cost must be")
    code, _, err = run(["export", *study, "--out", str(tmp_path / "no" / "x.csv")], capsys)
    assert code == 2 and err.startswith("carbs export: cannot write")
    for out in (".", "", "front.", str(tmp_path)):  # "front." wrote front.png, "." .png
        code, _, err = run(["plot", *study, "--out", out], capsys)
        assert code == 2 and "must name an image file" in err
    code, _, err = run(["plot", *study, "--out", "front.qqq"], capsys)
    assert code == 2 and "unknown image format 'qqq'" in err
    code, _, err = run(["plot", *study, "--out", str(tmp_path / "no" / "front.png")], capsys)
    assert code == 2 and err.startswith("carbs plot: cannot write the plot")
    assert run(["plot", *study, "--out", "front"], capsys)[1] == {"plot": "front.png"}
    assert Path("front.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"params": SPACE["params"], "typo": 1}), "unknown key(s) ['typo']"),
        (json.dumps({"params": SPACE["params"], "direction": "up"}), "direction"),
        (json.dumps({"params": [{"name": "x", "space": {"type": "Nope"}}]}), "name, space"),
        (
            json.dumps(
                {"params": [{"name": "x", "space": {"type": "NopeSpace"}, "search_center": 1}]}
            ),
            "unknown space type",
        ),
        (json.dumps({"params": SPACE["params"], "config": {"seeed": 1}}), "seeed"),
        (json.dumps([1, 2]), "'params' list"),
        (  # an OverflowError traceback
            json.dumps(
                {
                    "params": [
                        {
                            "name": "w",
                            "space": {"type": "CategoricalSpace", "choices": [1, 10**400]},
                            "search_center": 1,
                        }
                    ]
                }
            ),
            "within the float range",
        ),
        # Created, then refused by every `carbs ask`.
        (
            json.dumps(
                {"params": [{"name": "lr", "space": {"type": "LogSpace"}, "search_center": 0.1}]}
            ),
            "Optuna needs finite bounds",
        ),
        # A param named like an export column scrambled `carbs export`'s columns.
        (json.dumps({"params": [{**SPACE["params"][0], "name": "id"}]}), "`carbs export`"),
        (json.dumps({"params": [{**SPACE["params"][0], "name": "cost"}]}), "to_dataframe()"),
        # The sign was dropped: the study minimised what the config said to maximise.
        (
            json.dumps({"params": SPACE["params"], "config": {"better_direction_sign": 1}}),
            "better_direction_sign 1 contradicts direction 'minimize'",
        ),
        # These two raised UnicodeDecodeError and RecursionError with a traceback.
        (b"\xb6\x00binary", "not UTF-8 text"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ],
)
def test_a_malformed_space_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    code, _, err = run(["create", "s", "--space", str(path), "--storage", storage], capsys)
    assert code == 2 and message in err


def test_a_yaml_space_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({**SPACE, "direction": "maximize"}))
    storage = ["--storage", f"journal:{tmp_path / 'journal.log'}"]
    assert run(["create", "s", "--space", str(path), *storage], capsys)[0] == 0
    _, status, _ = run(["status", "s", *storage], capsys)
    assert status["direction"] == "maximize"
    # YAML reads keys such as 1 or `on` as numbers and bools: a TypeError traceback.
    path.write_text(yaml.safe_dump(SPACE) + "1: a\nfoo: b\n")
    code, _, err = run(["create", "t", "--space", str(path), *storage], capsys)
    assert code == 2 and "unknown key(s) ['foo', 1]" in err


WORKER = textwrap.dedent(
    """
    set -euo pipefail
    read_json() { "$PYTHON" -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }
    for round in 1 2 3; do
      asked=$("$CARBS" ask sweep --storage "$STORAGE")
      id=$(read_json "$asked" '["id"]')
      width=$(read_json "$asked" '["params"]["width"]')
      "$CARBS" tell sweep "$id" --output "0.$id" --cost "$width" --storage "$STORAGE" > /dev/null
    done
    """
)


def test_three_shell_workers_share_one_study(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "carbs"
    command = str(script) if script.exists() else shutil.which("carbs")
    if command is None:
        pytest.skip("the carbs console script is not installed (pip install -e .)")
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    create = [command, "create", "sweep", "--space", str(tmp_path / "space.json")]
    subprocess.run([*create, "--storage", storage], check=True, capture_output=True)
    (tmp_path / "worker.sh").write_text(WORKER)
    env = {"CARBS": command, "PYTHON": sys.executable, "STORAGE": storage, "PATH": "/usr/bin:/bin"}
    workers = [
        subprocess.Popen(["bash", str(tmp_path / "worker.sh")], env=env, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    exported = subprocess.run(
        [command, "export", "sweep", "--format", "json", "--storage", storage],
        check=True,
        capture_output=True,
        text=True,
    )
    rows = json.loads(exported.stdout)
    assert sorted(r["id"] for r in rows) == list(range(9))
    assert all(r["state"] == "COMPLETE" for r in rows)
    points = {(r["lr"], r["width"], r["optimizer"]) for r in rows}
    assert len(points) == 9


def test_report_says_when_to_stop_and_records_the_stop(
    study: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Six runs report a loss that falls by 1 over 10 steps of cost 1; a seventh, far from
    the good lr, is told to stop once enough of it is spent, and is recorded as pruned."""
    capsys.readouterr()
    name, storage = study[0], study[1:]

    def report(trial: int, output: float, cost: float) -> tuple[int, Any, str]:
        args = ["report", name, str(trial), "--output", str(output), "--cost", str(cost)]
        return run([*args, *storage], capsys)

    for _ in range(6):
        asked = run(["ask", *study], capsys)[1]
        final = loss(asked["params"])
        for step in range(1, 10):
            code, said, _ = report(asked["id"], final + 1 - step / 10, float(step))
            assert code == 0 and said["step"] == step and said["should_stop"] is False
        told = ["tell", name, str(asked["id"]), "--output", str(final), "--cost", "10"]
        assert run([*told, *storage], capsys)[0] == 0
    hopeless = run(["ask", *study], capsys)[1]["id"]
    said = {"should_stop": False}
    step = 0
    while not said["should_stop"] and step < 9:
        step += 1
        code, said, _ = report(hopeless, 50.0 + 1 - step / 10, float(step))
        assert code == 0
    assert said["should_stop"] is True and said["state"] == "PRUNED", said
    assert step >= 2  # never before 20% of the planned cost (10, the runs' median)
    assert said["projected_output"] > 40 and said["improvement_probability"] < 0.05
    assert run(["status", *study], capsys)[1]["trials"] == {"COMPLETE": 6, "PRUNED": 1}
    # Exported with what it spent and its output where it stopped (both were null).
    pruned = run(["export", *study, "--format", "json"], capsys)[1][hopeless]
    assert pruned["state"] == "PRUNED" and pruned["cost"] == float(step)
    assert pruned["output"] == pytest.approx(50.0 + 1 - step / 10)
    # Errors: the stopped trial is told, the cost may not fall, the output must be finite.
    code, _, err = report(hopeless, 1.0, 20.0)
    assert code == 2 and "already told (PRUNED)" in err
    running = run(["ask", *study], capsys)[1]["id"]
    assert report(running, -5.0, 5.0)[1]["should_stop"] is False  # better than every run
    code, _, err = report(running, 1.0, 4.0)
    assert code == 2 and "less than at the previous report" in err
    code, _, err = report(running, math.inf, 6.0)
    assert code == 2 and "--output must be a finite number" in err
    assert f"carbs tell sweep {running} --failure" in err
    code, _, err = report(running, 1.0, -1.0)
    assert code == 2 and "--cost must be a finite number > 0" in err


def test_python_dash_m_carbs_runs_the_command(tmp_path: Path) -> None:
    # Where the console script is not on PATH (a notebook's kernel, a bare interpreter).
    done = subprocess.run(
        [sys.executable, "-m", "carbs", "status", "nope", "--storage", "sqlite:///x.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("carbs status: cannot open the storage")


@pytest.mark.parametrize(
    "other",
    [["tell", "0", "--output", "0.5", "--cost", "7"], ["forget", "0"], ["tell", "0", "--failure"]],
)
def test_two_commands_on_one_trial_at_once_end_in_one_clean_error(
    study: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    other: list[str],
) -> None:
    """A requeued job telling twice, or a cleanup forgetting a run that is telling: the
    other command ran between this one's check and its tell. This one crashed with
    Optuna's traceback ("Cannot tell a COMPLETE trial"), or both reported a success."""
    import optuna

    name, storage = study[0], study[1:]
    assert main(["ask", *study]) == 0
    real_tell = optuna.study.Study.tell
    calls = []

    def tell_after_the_other(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append(1)
            assert main([other[0], name, *other[1:], *storage]) == 0
        return real_tell(self, *args, **kwargs)

    monkeypatch.setattr(optuna.study.Study, "tell", tell_after_the_other)
    capsys.readouterr()
    code, out, err = run(["tell", name, "0", "--output", "1.5", "--cost", "100", *storage], capsys)
    assert code == 2 and out["id"] == 0  # the other command's printed success, and no other
    assert "trial 0 was told or forgotten by another command at the same moment" in err
    monkeypatch.setattr(optuna.study.Study, "tell", real_tell)
    trial = load_study(name, storage[1])[0].trials[0]
    assert trial.state.name != "RUNNING" and trial.value != 1.5  # the other one's result


def test_a_tell_whose_trial_another_command_marked_meanwhile_says_so(
    study: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cleanup's forget marked the run lost while this tell was telling it: both said
    # they succeeded, and the run told COMPLETE was left out of the model as lost.
    import optuna

    from carbs.integrations.optuna import LOST_ATTR

    name, storage = study[0], study[1:]
    assert main(["ask", *study]) == 0
    real_tell = optuna.study.Study.tell

    def marked_meanwhile(self: Any, trial: Any, *args: Any, **kwargs: Any) -> Any:
        frozen = self.get_trials(deepcopy=False)[0]
        self._storage.set_trial_user_attr(frozen._trial_id, LOST_ATTR, True)
        return real_tell(self, trial, *args, **kwargs)

    monkeypatch.setattr(optuna.study.Study, "tell", marked_meanwhile)
    capsys.readouterr()
    code, _, err = run(["tell", name, "0", "--output", "1.5", "--cost", "100", *storage], capsys)
    assert code == 2 and "was also told by another command at the same moment" in err
