"""Plot functions return figures with the content asked for."""
import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from sbka_lite import plots


def test_image_grid_shape_and_highlight():
    img = Image.new("RGB", (8, 8), "white")
    fig = plots.image_grid([[img, img, None], [img]], ["a", "b"], highlight=[["green", None, None], ["red"]])
    assert len(fig.axes) == 6
    assert fig.axes[0].spines["left"].get_edgecolor()[:3] == matplotlib.colors.to_rgb("green")


def test_umap_panels_and_loss_curves_and_bars():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(20, 2))
    classes = ["cat", "dog"] * 10
    modality = ["sketch"] * 10 + ["photo"] * 10
    fig = plots.umap_panels([("before", coords, classes, modality), ("after", coords, classes, modality)])
    assert [ax.get_title() for ax in fig.axes[:2]] == ["before", "after"]
    history = pd.DataFrame({"step": range(10), "loss_cls": np.linspace(2, 1, 10), "loss_ka_s": np.linspace(1, 0.5, 10)})
    fig = plots.loss_curves(history, phase_boundary=5)
    assert len(fig.axes[0].get_lines()) == 3  # two terms + the phase line
    table = pd.DataFrame({"arm": ["a", "a", "b", "b"], "map": [0.1, 0.2, 0.3, 0.4]})
    fig = plots.metric_bars(table, x="arm", y="map")
    assert len(fig.axes[0].patches) >= 2
    fig = plots.per_class_change({"x": 0.1, "y": 0.5}, {"x": 0.3, "y": 0.4})
    assert len(fig.axes[0].patches) == 2


def test_per_class_change_bars_are_after_minus_before_in_green_and_red():
    fig = plots.per_class_change({"gains": 0.1, "loses": 0.5, "same": 0.2}, {"gains": 0.3, "loses": 0.4, "same": 0.2})
    bars = {label.get_text(): patch for label, patch in zip(fig.axes[0].get_yticklabels(), fig.axes[0].patches)}
    assert bars["gains"].get_width() == pytest.approx(0.2) and bars["loses"].get_width() == pytest.approx(-0.1)
    assert bars["same"].get_width() == pytest.approx(0.0)
    assert bars["gains"].get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:green")
    assert bars["loses"].get_facecolor()[:3] == matplotlib.colors.to_rgb("tab:red")
    # sorted from the largest loss up
    assert [label.get_text() for label in fig.axes[0].get_yticklabels()] == ["loses", "same", "gains"]


def test_curves_by_setting_draws_each_settings_mean_curve():
    from sbka_lite.plots import curves_by_setting

    rows = [{"setting": setting, "seed": seed, "epoch": epoch, "val_acc": 0.5 + 0.1 * epoch,
             "unseen_map_diagnostic": base + (0.1 * epoch if setting == "rises" else -0.1 * epoch) + 0.01 * seed}
            for setting, base in (("rises", 0.2), ("forgets", 0.8)) for seed in (0, 1) for epoch in range(3)]
    fig = curves_by_setting(pd.DataFrame(rows))
    drawn = {tuple(np.round(line.get_ydata(), 3)) for line in fig.axes[0].get_lines() if len(line.get_ydata()) == 3}
    assert {(0.205, 0.305, 0.405), (0.805, 0.705, 0.605)} <= drawn  # each setting's mean over seeds, per epoch
    plt.close(fig)
