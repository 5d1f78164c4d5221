"""TrainConfig: strict keys and types, YAML files, the shipped configs, renamed keys and stored configs."""
import json
from pathlib import Path

import pytest

from sbka_lite.checkpoint import RunState
from sbka_lite.config import (ALIGNMENTS, RENAMED_KEYS, SMOKE_OVERRIDES, ConfigError, TrainConfig, load_yaml,
                              upgrade_saved_config)
from sbka_lite.experiments.ablation import same_recipe
from sbka_lite.run_folder import check_resumable
from sbka_lite.train import main

REPO = Path(__file__).resolve().parents[1]


def test_config_rejects_unknown_keys_and_wrong_types_by_name():
    with pytest.raises(ConfigError, match=r"unknown key 'epoch'.*did you mean epochs"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ConfigError, match="epochs must be int, got str"):
        TrainConfig.from_dict({"epochs": "3"})
    with pytest.raises(ConfigError, match="gaussian must be bool, got int"):
        TrainConfig.from_dict({"gaussian": 1})
    with pytest.raises(ConfigError, match="epochs must be int, got bool"):
        TrainConfig.from_dict({"epochs": True})
    with pytest.raises(ConfigError, match="TrainConfig: epochs must be int, got str"):
        TrainConfig(epochs="3")
    with pytest.raises(ConfigError, match="alignment='both'"):
        TrainConfig.from_dict({"alignment": "both"})
    with pytest.raises(ConfigError, match="lr="):
        TrainConfig.from_dict({"lr": 0})
    config = TrainConfig.from_dict({"lr": 1, "w_ka": 2})  # ints are fine where floats are expected
    assert config.lr == 1.0 and isinstance(config.w_ka, float)
    assert config.replace(epochs=12).epochs == 12
    with pytest.raises(ConfigError):
        config.replace(epochs=3.5)
    with pytest.warns(UserWarning, match="phase 2 never starts"):
        config.replace(epochs=3)


def test_yaml_configs_parse_scientific_floats_and_name_the_file(tmp_path):
    assert load_yaml("lr: 1e-4\nseed: 3\nname: x") == {"lr": 1e-4, "seed": 3, "name": "x"}
    good = tmp_path / "good.yaml"
    good.write_text("lr: 3e-4\nepochs: 4\nwarmup_epochs: 2\n")
    assert TrainConfig.from_yaml(good, {"seed": 5}).lr == 3e-4
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 4\nwarmpu_epochs: 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'warmpu_epochs'"):
        TrainConfig.from_yaml(bad)


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "configs").glob("*.yaml")))
def test_shipped_configs_are_valid(name):
    config = TrainConfig.from_yaml(REPO / "configs" / name)
    assert config.alignment in ALIGNMENTS
    if name.startswith("paper_"):
        assert (config.lr, config.weight_decay, config.epochs, config.image_size) == (1e-4, 5e-4, 20, 224)
        official = {"quickdraw": (11, 99, 4, 1.0, "last"), "tuberlin": (21, 189, 6, 0.5, "official")}.get(
            config.benchmark, (70, 140, 10, 1.0, "official"))  # batch, warm-up, teacher lr factor, selection
        assert (config.sketches_per_batch, config.photos_per_batch, config.warmup_epochs, config.teacher_lr_factor,
                config.selection) == official
        assert config.augment_style == "official" and config.steps_per_epoch == 0


def test_cli_prints_the_resolved_config(capsys):
    assert main(["--config", str(REPO / "configs" / "demo.yaml"), "--set", "epochs=5", "--set", "lr=2e-4",
                 "--smoke", "--print-config"]) == 0
    printed = json.loads(capsys.readouterr().out)
    # --smoke shrinks what was not set explicitly; an explicit --set wins (issue: --smoke used to override it)
    assert printed["lr"] == 2e-4 and printed["epochs"] == 5
    assert printed["steps_per_epoch"] == SMOKE_OVERRIDES["steps_per_epoch"]
    assert printed["synthetic_size"] == "smoke"
    with pytest.raises(SystemExit):
        main(["--set", "no_such_key=1", "--print-config"])
    assert "unknown key 'no_such_key'" in capsys.readouterr().err


@pytest.mark.parametrize("old", sorted(RENAMED_KEYS))
def test_a_renamed_key_is_refused_with_its_new_name(old, tmp_path):
    new = RENAMED_KEYS[old]
    value = {"w_align": 0.2, "align_feature": "layernorm"}[old]
    with pytest.raises(ConfigError, match=rf"'{old}' is now called '{new}'.*{new}: "):
        TrainConfig.from_dict({old: value})
    path = tmp_path / "old.yaml"
    path.write_text(f"{old}: {value}\n")
    with pytest.raises(ConfigError, match=rf"old.yaml: key '{old}' is now called '{new}'"):
        TrainConfig.from_yaml(path)
    assert getattr(TrainConfig.from_dict({new: value}), new) == value


def test_a_checkpoint_written_under_the_old_names_resumes_only_with_the_same_values(tmp_path):
    config = TrainConfig.from_dict({"w_gaussian": 0.1, "gaussian_feature": "layernorm"})
    saved = {"w_align" if key == "w_gaussian" else "align_feature" if key == "gaussian_feature" else key: value
             for key, value in config.to_dict().items()}
    assert "w_gaussian" not in saved and upgrade_saved_config(saved) == config.to_dict()
    check_resumable(saved, config.to_dict(), tmp_path / "last.pt")  # the same run under its old names: resumes
    with pytest.raises(ValueError, match=r"w_gaussian: 0\.5 -> 0\.1"):
        check_resumable({**saved, "w_align": 0.5}, config.to_dict(), tmp_path / "last.pt")
    with pytest.raises(ValueError, match=r"gaussian_feature: 'raw' -> 'layernorm'"):
        check_resumable({**saved, "align_feature": "raw"}, config.to_dict(), tmp_path / "last.pt")


def test_old_logs_and_results_are_read_under_the_new_names():
    row = {"epoch": 0, "loss_cls": 1.0, "loss_align": 0.7}
    state = {"epoch": 1, "step_in_epoch": 0, "step": 2, "history": [row], "epoch_rows": [dict(row)],
             "best": {"val_acc": None, "epoch": None}, "bad_log": {"seen": 0, "failed": 0, "bad": []}}
    restored = RunState.from_checkpoint(state, 0.01)
    assert restored.history == restored.epoch_rows == [{"epoch": 0, "loss_cls": 1.0, "loss_gaussian": 0.7}]
    meta = {"benchmark": "synthetic", "config": {"w_gaussian": 0.1, "gaussian_feature": "layernorm", "lr": 3e-4}}
    old = {"benchmark": "synthetic", "config": {"w_align": 0.1, "align_feature": "layernorm", "lr": 3e-4}}
    assert same_recipe(old, meta) and not same_recipe({**old, "config": {**old["config"], "w_align": 0.2}}, meta)
