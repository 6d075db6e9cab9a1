"""`python -m src.report`: runs of both tasks, a sweep and an evaluated run -> leaderboard.csv / .md / .html whose
figures are the runs' own; MODEL_CARD.md written at the end of training and refreshed by src.evaluate."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

SWEEP = ["trainer.max_epochs=1", "trainer.limit_train_batches=2", "dataset.k_train=1,2"]
HEADER = ["experiment=header_demo", "trainer.max_epochs=1", "dataset.synthetic.num_clips=24", "dataset.input_size=32",
          "dataset.synthetic.size=32", "~callbacks.progress_bar", "run_name=h"]
COST = {"params_total": 1234, "params_trainable": 56, "gflops_forward": 0.5, "gflops_train": 1.5,
        "input_shape": [1, 3, 8, 32, 32], "num_frames": 8, "image_size": 32, "device": "cpu"}


class Tables(HTMLParser):
    """Every <table> of a page as a list of rows of cell texts (the first row: the header)."""

    def __init__(self):
        super().__init__()
        self.tables, self.row, self.cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr":
            self.tables[-1].append(self.row)

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def html_tables(text: str) -> pd.DataFrame:
    parser = Tables()
    parser.feed(text)
    return pd.concat([pd.DataFrame(t[1:], columns=t[0]) for t in parser.tables], ignore_index=True)


@pytest.fixture
def workspace(cli, synthetic_root, tiny_clip_run, tmp_path) -> Path:
    """A clip sweep over K (2 runs), a header run evaluated by src.evaluate, a cost.json, a damaged run folder."""
    sweep = cli(["-m", "dataset=ucf101", f"dataset.root={synthetic_root}", *tiny_clip_run, *SWEEP], tmp_path)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    header = cli(HEADER, tmp_path)
    assert header.returncode == 0, header.stderr[-3000:]
    card = tmp_path / "report/header_experiments/h/MODEL_CARD.md"
    assert "### best (val split" in card.read_text() and "eval:" not in card.read_text()
    evaluated = cli(["task=header", "run=h", f"dataset.val_csv={tmp_path}/data/synthetic/header/val.csv",
                     "trainer=cpu"], tmp_path, module="src.evaluate")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    cost = tmp_path / "report/header_experiments/h/cost.json"
    cost.rename(cost.with_name("trained_cost.json"))   # what training wrote, replaced by known figures
    cost.write_text(json.dumps(COST))
    damaged = tmp_path / "models/video_coop/ucf101/damaged"
    damaged.mkdir(parents=True)
    (damaged / "run.json").write_text("{not json")
    return tmp_path


def test_report_lists_every_result_of_both_tasks_with_the_runs_own_figures(cli, workspace):
    tmp = workspace
    out = tmp / "board"
    result = cli([f"roots=[{tmp}/models,{tmp}/report]", f"sweeps=[{tmp}/multirun]", f"output={out}"], tmp,
                 module="src.report")
    assert result.returncode == 0, result.stderr[-3000:]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "damaged/run.json" in warnings[0] and "skipped" in warnings[0]
    csv = pd.read_csv(out / "leaderboard.csv")
    html = (out / "leaderboard.html").read_text()
    table = html_tables(html)
    assert len(table) == len(csv) == 2 * 2 + 2  # each clip run: best + test; the header run: best + its eval

    clip_runs = sorted(Path(json.loads(p.read_text())["run_dir"]) for p in (tmp / "multirun").glob("*/job.json"))
    assert len(clip_runs) == 2
    for run in clip_runs:
        test = json.loads((run / "test_results.json").read_text())
        rows = table[(table["run_id"] == run.name) & (table["source"] == "test")]
        assert len(rows) == 1 and float(rows["score"].iloc[0]) == pytest.approx(test["top1"], abs=1e-4)
        assert rows["sweep"].iloc[0] == str(tmp / "multirun") and rows["metric"].iloc[0] == "top1"
        card = (run / "MODEL_CARD.md").read_text()  # written when the run finished, with its test result
        assert "### test (test split, ucf101)" in card and "random init" in card
        cost = json.loads((run / "cost.json").read_text())  # written when fit ended (conf/train.yaml run_cost)
        assert cost["gflops_forward"] > 0 and cost["params_trainable"] < cost["params_total"]  # CLIP frozen
        assert float(rows["gflops_forward"].iloc[0]) == pytest.approx(cost["gflops_forward"], rel=1e-3)
        assert f"- gflops_forward: {cost['gflops_forward']:.4f}" in card
    k_shots = set(csv.loc[csv["source"] == "test", "k_shot"].astype(str))
    assert k_shots == {"1", "2"} and csv.loc[csv["source"] == "test", "group"].nunique() == 2  # K: not comparable

    run = tmp / "report/header_experiments/h"
    best = json.loads((run / "best_metrics.json").read_text())
    evaluation = json.loads((run / "eval/val-8f.json").read_text())
    header = table[table["run_id"] == "h"].set_index("source")
    assert float(header.loc["best", "score"]) == pytest.approx(best["val_f1"], abs=1e-4)
    assert float(header.loc["eval:val-8f", "score"]) == pytest.approx(evaluation["at_0.5"]["f1"], abs=1e-4)
    assert float(header.loc["eval:val-8f", "gflops_forward"]) == COST["gflops_forward"]
    assert header.loc["best", "params_total"] == str(COST["params_total"])
    trained_cost = json.loads((run / "trained_cost.json").read_text())   # the header run's own, kept by the fixture
    assert trained_cost["gflops_forward"] > 0 and trained_cost["params_trainable"] == trained_cost["params_total"]

    # Self-contained: no URL is fetched (the only "http" are SVG namespace names), the plots are inline SVG.
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, flags=re.I)
    assert re.findall(r"https?://[^\s\"'<>]*", html) == re.findall(r"xmlns(?::\w+)?=\"(https?://[^\"]*)\"", html)
    assert "<link" not in html and "<script src" not in html and "<img" not in html
    # An accuracy-vs-GFLOPs scatter per group (every run has cost.json: the header group + the clip val and test
    # groups of K = 1 and 2) + the few-shot curves (K = 1, 2) of the clip sweep's val and test results.
    assert html.count("<svg") == 1 + 4 + 2
    markdown = (out / "leaderboard.md").read_text()
    assert markdown.count("\n## ") == csv["group"].nunique() + 1 and "damaged" in markdown  # + the skipped list

    card = (run / "MODEL_CARD.md").read_text()  # refreshed by src.evaluate, with the cost.json training wrote
    assert "### eval:val-8f" in card and "Trained on synthetic data" in card
    assert f"- gflops_forward: {trained_cost['gflops_forward']:.4f}" in card and "No cost.json" not in card

    from src.tasks import get_task  # the card written again now: it shows the cost.json there now

    card = get_task("header").write_model_card(run).read_text()
    assert "- gflops_forward: 0.5000" in card and "- params_total: 1234" in card and "No cost.json" not in card


@pytest.mark.parametrize("args, says", [
    (["roots=[{tmp}/nowhere]"], "roots: {tmp}/nowhere is not a folder"),
    (["roots=[{tmp}]", "sweeps=[{tmp}/nowhere]"], "sweeps: {tmp}/nowhere is not a folder"),
    (["roots=[{tmp}]", "output={tmp}/run/board"], "output={tmp}/run/board: inside the run folder {tmp}/run"),
])
def test_bad_input_is_one_error_line_exit_2_and_writes_nothing(cli, tmp_path, args, says):
    run = tmp_path / "run"  # a run folder (a header run from before run.json: its best_metrics.json)
    run.mkdir()
    (run / "best_metrics.json").write_text("{}")
    before = sorted(tmp_path.rglob("*"))
    result = cli([a.format(tmp=tmp_path) for a in args], tmp_path, module="src.report")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:"), result.stderr[-2000:]
    assert says.format(tmp=tmp_path) in lines[0] and result.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before
