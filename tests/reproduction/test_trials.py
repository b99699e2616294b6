"""The shared trials runner's bookkeeping: a finished trial's record and the rendered table."""

import dataclasses
import json
import math

from experiments import trials

TABLE = trials.Table(
    name="table_x", title="Table X", runner="runner", module="module",
    rows=(("A", ["--a"]), ("B", ["--b"])), columns=(trials.Column("score", "Score", scale=100.0),),
    paper={"A": "paper A"},
)


def _trial(directory, score, seed, **times):
    directory.mkdir()
    (directory / "metrics.json").write_text(json.dumps({"score": score, "seed": seed}))
    (directory / "run_info.json").write_text(json.dumps({"machine": "m", "command": "c", **times}))
    return trials.finished_trial(str(directory))


def test_a_finished_trial_carries_its_times_from_run_info(tmp_path):
    record = _trial(tmp_path / "a_s0", 0.5, 0, train_seconds=90.0, eval_seconds=30.0)
    assert record == {"score": 0.5, "seed": 0, "train_seconds": 90.0, "eval_seconds": 30.0, "machine": "m"}
    assert trials.trial_minutes(record) == 2.0
    assert math.isnan(trials.trial_minutes({"score": 0.5}))


def test_render_table_means_standard_errors_and_minutes(tmp_path):
    recorded = {
        "A/0": _trial(tmp_path / "a_s0", 0.01, 0, train_seconds=120.0),
        "A/1": _trial(tmp_path / "a_s1", 0.03, 1, train_seconds=180.0, eval_seconds=60.0),
        "B/0": {"score": 0.5, "seed": 0},  # no times recorded
    }
    text = trials.render_table(TABLE, recorded, wall_seconds=300.0, command="python -m runner", ran=2)
    # Scores 1 and 3 (%): mean 2, sample standard deviation sqrt(2), standard error 1.
    assert "| A | 2 (1) | 3.0 | 0, 1 | paper A |" in text
    assert "| B | 50 | - | 0 | - |" in text
    assert "5.0 minutes for 2 trial(s) run (the others were recorded before). " in text
    assert "The trials ran on m (2); 1 without a recorded machine. " in text
    # 120 s + 180 s + 60 s of the timed trials: 0.1 hours.
    assert "All 3 trials (1 without recorded times) took 0.1 hours of training and evaluation" in text
    one = trials.render_table(TABLE, {"A/0": recorded["A/0"]}, wall_seconds=300.0, command="c", ran=1)
    assert "The one trial took 0.0 hours of training and evaluation. " in one


def test_write_results_writes_json_and_table_with_the_discussion(tmp_path):
    recorded = {"A/0": {"score": 0.01, "seed": 0}, "A/1": {"score": 0.03, "seed": 1}}
    (tmp_path / "table_x_discussion.md").write_text("## Discussion\nHand-written.\n")
    seen = []
    record = {"command": "python -m runner --trials=2", "machine": "m", "parallel": 2, "threads": 1}
    text = trials.write_results(TABLE, str(tmp_path), recorded, record, wall_seconds=60.0, ran=1,
                                after=lambda directory, got: seen.append((directory, sorted(got))))
    on_disk = json.loads((tmp_path / "table_x.json").read_text())
    assert on_disk == {"trials": recorded, **record, "wall_seconds": 60.0, "ran": 1}
    assert (tmp_path / "table_x.md").read_text() == text
    assert "| A | 2 (1) | - | 0, 1 | paper A |" in text and "1.0 minutes for 1 trial(s) run" in text
    assert "recorded before), 2 side by side with 1 CPU thread(s) each. " in text
    assert text.endswith("\n## Discussion\nHand-written.\n")
    assert seen == [(str(tmp_path), ["A/0", "A/1"])]


def test_a_discussion_that_counts_other_trials_is_marked_behind_the_table(tmp_path, capsys):
    recorded = {"A/0": {"score": 0.01, "seed": 0}, "A/1": {"score": 0.03, "seed": 1}, "B/0": {"score": 0.5, "seed": 0}}
    record = {"command": "c", "machine": "m"}
    (tmp_path / "table_x_discussion.md").write_text("## Discussion\nWritten by hand after 2 trials: A beats B.\n")
    text = trials.write_results(TABLE, str(tmp_path), recorded, record, wall_seconds=60.0, ran=1)
    note = ("*The discussion below was written after 2 trials; the tables above have 3. "
            "Where their numbers differ, the tables above are current.*\n\n")
    assert text.endswith("\n" + note + "## Discussion\nWritten by hand after 2 trials: A beats B.\n")
    assert "table_x_discussion.md: The discussion below was written after 2 trials" in capsys.readouterr().err

    (tmp_path / "table_x_discussion.md").write_text("## Discussion\nwritten by hand after 3 trials.\n")
    text = trials.write_results(TABLE, str(tmp_path), recorded, record, wall_seconds=60.0, ran=1)
    assert text.endswith("\n## Discussion\nwritten by hand after 3 trials.\n")
    assert capsys.readouterr().err == ""
    assert trials.discussion_lag_note("No count stated.", recorded) == ""


def test_the_tables_checks_follow_its_notes():
    checked = dataclasses.replace(TABLE, notes=("A note.",),
                                  checks=lambda recorded: f"## Checks\n{len(recorded)} trial(s).\n")
    text = trials.render_table(checked, {"A/0": {"score": 0.01, "seed": 0}}, wall_seconds=60.0, command="c")
    assert text.endswith("\nA note.\n\n## Checks\n1 trial(s).\n")
    assert "## Checks" not in trials.render_table(checked, {}, wall_seconds=60.0, command="c")


def test_a_record_that_did_not_count_its_trials_says_so():
    text = trials.render_table(TABLE, {"A/0": {"score": 0.01, "seed": 0}}, wall_seconds=120.0,
                               command="c", ran=None, machine="2 CPU cores (AMD EPYC)")
    assert ("Machine of this invocation: 2 CPU cores (AMD EPYC). Wall time of this invocation: "
            "2.0 minutes (the number of trials it ran was not recorded). ") in text


def test_a_record_whose_wall_time_was_lost_says_so_instead_of_zero_minutes():
    text = trials.render_table(TABLE, {"A/0": {"score": 0.01, "seed": 0}}, wall_seconds=None,
                               command="c", ran=None, machine="m")
    assert "Machine of this invocation: m. Wall time of this invocation: not recorded. " in text
    assert "minutes (the" not in text


def test_progress_line_names_each_column_in_its_scale():
    assert TABLE.progress({"score": 0.01234, "seed": 0}) == "Score 1.234"


def test_progress_note_reads_the_history_and_the_epochs_of_a_started_trial(tmp_path):
    assert trials.progress_note(str(tmp_path)) == ""  # never trained
    (tmp_path / "history.jsonl").write_text('{"epoch": 1, "wall_s": 9.0}\n{"epoch": 2, "wall_s": 18.0}\n{"epo')
    assert trials.progress_note(str(tmp_path)) == " (history reaches epoch 2)"  # torn last line skipped
    (tmp_path / "flags.txt").write_text("# Resolved flags\n--num_modes=25\n--epochs=30\n")
    assert trials.progress_note(str(tmp_path)) == " (history reaches epoch 2 of 30)"


def test_the_table_names_every_machine_its_trials_ran_on():
    recorded = {"A/0": {"score": 0.1, "seed": 0, "machine": "2 CPU cores (AMD EPYC)"},
                "A/1": {"score": 0.2, "seed": 1, "machine": "2 CPU cores (Intel Xeon)"},
                "B/0": {"score": 0.3, "seed": 0, "machine": "2 CPU cores (Intel Xeon)"}}
    assert trials.machines_sentence(recorded) == (
        "The trials ran on 2 CPU cores (Intel Xeon) (2); 2 CPU cores (AMD EPYC) (1). ")
    assert trials.machines_sentence({"A/0": {"score": 0.1}}) == ""


def test_a_refused_trial_quotes_the_entry_points_sentence(tmp_path):
    (tmp_path / "stdout.log").write_text(
        "=== 2026-11-27: python -m age_tf.experiments.mog ...\nI0000 oneDNN custom operations are on.\n"
        "--output_dir /r holds a checkpoint trained with other settings (--seed=0 there, --seed=5 now).\n\n"
    )
    refused = trials.failure_message("AGE-KL", 5, 2, str(tmp_path))
    assert refused == (f"AGE-KL seed 5 was refused (exit 2): --output_dir /r holds a checkpoint trained with other "
                       f"settings (--seed=0 there, --seed=5 now). (log: {tmp_path / 'stdout.log'})")
    crashed = trials.failure_message("AGE-KL", 5, 1, str(tmp_path))
    assert crashed == f"AGE-KL seed 5 failed (exit 1); see {tmp_path / 'stdout.log'}"


def test_a_rows_records_come_in_numeric_seed_order():
    recorded = {f"A/{seed}": {"score": 0.0, "seed": seed} for seed in (10, 2, 0)}
    recorded["B/1"] = {"score": 0.0, "seed": 1}
    assert [r["seed"] for r in trials.row_records(recorded, "A")] == [0, 2, 10]


def test_a_trial_finished_at_fewer_epochs_than_asked_is_not_finished(tmp_path):
    """Issue: any metrics.json counted as finished, so --extra_flags=--epochs=2 recorded 1-epoch trials."""
    flagfile = tmp_path / "row.flags"
    flagfile.write_text("# a table's flagfile\n--epochs=30\n--seed=0\n")
    assert trials.asked_epochs(str(flagfile), ["--a"], []) == "30"
    assert trials.asked_epochs(str(flagfile), ["--epochs=10"], ["--epochs=2"]) == "2"
    assert trials.asked_epochs(str(tmp_path / "missing.flags"), [], []) is None
    out = tmp_path / "a_s0"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / "flags.txt").write_text("# Resolved flags of python -m module\n--epochs=1\n")
    assert trials.trained_as_asked(str(out), "1") and trials.trained_as_asked(str(out), None)
    assert not trials.trained_as_asked(str(out), "2")
