"""The seed table: mean ± std over seeds per setting of every other override, from each job's result.json."""
import json
import statistics

import pandas as pd
import pytest

from src.core.errors import UserError
from src.core.protocol_checks import check_seed_sweep
from src.core.seed_table import write_seed_table


def _job(sweep, num, overrides, **figures):
    (sweep / str(num)).mkdir(parents=True)
    (sweep / str(num) / "result.json").write_text(json.dumps({"overrides": overrides, **figures, "best_epoch": 0}))


def test_groups_by_every_override_but_seed_and_writes_the_three_files(tmp_path):
    values = {("4", "mean"): [0.5, 0.7, 0.6], ("4", "attention"): [0.2, 0.4, 0.9], ("16", "mean"): [0.1, 0.3, 0.2]}
    num = 0
    for (ctx, pooling), tops in values.items():
        for seed, top in enumerate(tops):
            _job(tmp_path, num, ["experiment=x", f"method.ctx_len={ctx}", f"method.pooling={pooling}", f"seed={seed}"],
                 test_top1=top, val_top1=top / 2)
            num += 1
    table = write_seed_table(tmp_path, "sweep", None, plot_x="method.ctx_len")
    on_disk = pd.read_csv(tmp_path / "sweep_table.csv")
    assert len(on_disk) == 3 and "experiment" not in on_disk.columns       # the same in every run: left out
    assert on_disk["method.ctx_len"].tolist() == [4, 4, 16]                 # numeric order
    for (ctx, pooling), tops in values.items():
        row = on_disk[(on_disk["method.ctx_len"] == int(ctx)) & (on_disk["method.pooling"] == pooling)].iloc[0]
        assert row["test_top1_mean"] == pytest.approx(statistics.mean(tops))
        assert row["test_top1_std"] == pytest.approx(statistics.stdev(tops))
        assert row["val_top1_mean"] == pytest.approx(statistics.mean(tops) / 2) and row["n_seeds"] == 3
    assert "best_epoch_mean" not in table.columns                           # integers are not figures
    text = (tmp_path / "sweep_table.md").read_text()
    assert f"{statistics.mean(values[('4', 'attention')]):.4f} ± {statistics.stdev(values[('4', 'attention')]):.4f}" in text
    assert (tmp_path / "sweep.png").stat().st_size > 0


def test_no_seed_no_table_and_protocol_sweeps_need_seeds(tmp_path):
    _job(tmp_path, 0, ["method.ctx_len=4"], test_top1=0.5)
    assert write_seed_table(tmp_path, "sweep", None, None) is None and not (tmp_path / "sweep_table.csv").exists()
    with pytest.raises(UserError, match="seed=0,1,2"):
        check_seed_sweep(["-m", "experiment=few_shot", "dataset.k_train=2,4"])
    with pytest.raises(UserError, match="base_to_novel"):
        check_seed_sweep(["--multirun", "experiment=base_to_novel", "seed=0"])
    check_seed_sweep(["-m", "experiment=few_shot", "dataset.k_train=2,4", "seed=0,1,2"])
    check_seed_sweep(["-m", "experiment=few_shot", "seed=range(0,3)"])
    check_seed_sweep(["experiment=few_shot"])                            # one run: nothing to average
    check_seed_sweep(["-m", "experiment=demo", "method.ctx_len=4,8"])      # not a protocol experiment
