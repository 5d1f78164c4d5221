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


def test_teacher_knowledge_has_one_bar_group_per_class_whoever_knows_it():
    import pandas as pd

    from sbka_lite.plots import teacher_knowledge_bars

    def table(known):
        return pd.DataFrame({"class": ["guitar", "violin", "teapot"], "split": "unseen", "known": known,
                             "top1": [0.9 if k else None for k in known]})

    fig = teacher_knowledge_bars({"imagenet": table([False, True, True]), "photo_world": table([True, False, True])})
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert len(labels) == 3, labels  # not one group per (class, known) pair
    assert "guitar (none in imagenet)" in labels and "violin (none in photo_world)" in labels and "teapot" in labels


def test_the_two_phase_diagram_is_drawn_from_the_runs_configuration():
    from sbka_lite.config import training_config

    def texts(fig):
        return " ".join(t.get_text() for ax in fig.axes for t in ax.texts)

    recipe = training_config(False)  # the demo: a photo-world teacher
    assert recipe.pretraining == "photo_world"
    drawn = texts(plots.two_phase_diagram(recipe))
    assert "teacher (photo world)\n42 classes" in drawn and "ImageNet" not in drawn and "| seen | 42" in drawn
    imagenet = texts(plots.two_phase_diagram(recipe.replace(pretraining="imagenet", w_gaussian=0.2)))
    assert "teacher (ImageNet)\n1000 classes" in imagenet and "0.2 L_align" in imagenet
    plt.close("all")


def test_learning_curves_show_coinciding_arms_and_say_so():
    rows = [{"arm": arm, "seed": seed, "epoch": epoch, "unseen_map_diagnostic": 0.5 + 0.01 * epoch + shift,
             "val_acc": 0.8 + 0.01 * epoch}
            for arm, shift in (("finetune", 0.05), ("one_way", 0.0), ("bidirectional", 0.0))
            for seed in (0, 1) for epoch in range(4)]
    curves = pd.DataFrame(rows)
    assert plots.coinciding(curves, "arm", ("unseen_map_diagnostic", "val_acc")) == [["one_way", "bidirectional"]]
    fig = plots.learning_curves(curves)
    styles = {line.get_linestyle() for line in fig.axes[0].get_lines() if len(line.get_xdata()) == 4}
    assert len(styles) >= 2, styles  # the arm drawn on top does not hide the one beneath by line style alone
    assert any("one_way = bidirectional" in text.get_text() for text in fig.texts), [t.get_text() for t in fig.texts]
    plt.close("all")


def test_umap_legend_matches_what_is_plotted_and_separates_classes_and_modalities():
    rng = np.random.default_rng(0)
    names = [f"class{i:02d}" for i in range(11)]  # the benchmark's 11 unseen classes
    classes = [names[i % 11] for i in range(44)]
    modality = ["sketch"] * 22 + ["photo"] * 22
    coords = rng.normal(size=(44, 2))
    fig = plots.umap_panels([("before", coords, classes, modality), ("after", coords, classes, modality)])
    legend = fig.legends[0]
    entries = {text.get_text(): handle for text, handle in zip(legend.get_texts(), legend.legend_handles)}
    assert set(entries) == set(names) | {"photo", "sketch"}
    # modalities differ by marker, classes by colour, and no two classes share a colour
    assert entries["photo"].get_marker() != entries["sketch"].get_marker()
    colours = [matplotlib.colors.to_hex(entries[n].get_color()) for n in names]
    assert len(set(colours)) == 11
    # each plotted series has a legend entry: the scatter colours are exactly the classes' colours
    plotted = {matplotlib.colors.to_hex(c) for coll in fig.axes[0].collections for c in coll.get_facecolors()}
    assert plotted == set(colours)
    # the legend sits outside the axes, not over a cluster
    fig.canvas.draw()
    box = legend.get_window_extent()
    assert all(box.x0 >= ax.get_window_extent().x1 - 1 for ax in fig.axes)
    plt.close("all")


def test_retrieval_rows_mark_hits_and_misses_by_symbol_as_well_as_colour(recwarn):
    img = Image.new("RGB", (8, 8), "white")
    fig = plots.retrieval_rows([img], ["cat"], [[img, img, img]], [["cat", "dog", "cat"]], ["cat"])
    marks = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert marks == ["✓", "✗", "✓"]
    fig.canvas.draw()  # the symbols exist in the default font: no "missing glyph" warning
    assert not [w for w in recwarn if "missing" in str(w.message).lower()]
    plt.close("all")


def test_per_class_presets_show_every_marker_and_merge_identical_presets():
    from sbka_lite.evaluation import plot_per_class_presets

    frame = pd.DataFrame({"sbka": [1.0, 0.5, 0.2], "sake": [1.0, 0.5, 0.2], "zse": [0.9, 0.6, 0.2]},
                         index=["cat", "dog", "cow"])
    fig = plot_per_class_presets(frame)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["sbka = sake", "zse"]  # one entry per distinct series, saying which coincide
    points = np.concatenate([c.get_offsets() for c in ax.collections if len(c.get_offsets())])
    assert len({tuple(p) for p in np.round(points, 9)}) == len(points)  # no marker on top of another
    low, high = ax.get_xlim()
    assert low < 0.2 and high > 1.0  # nothing clipped at the axis
    plt.close("all")


# ---- every figure with a legend: its entries are what is drawn (tests/figure_checks.py) ------------------------------

def _learning_curve_rows():
    return pd.DataFrame([{"arm": arm, "seed": seed, "epoch": epoch, "val_acc": 0.8 + 0.01 * epoch,
                          "unseen_map_diagnostic": 0.5 + 0.01 * epoch + shift}
                         for arm, shift in (("finetune", 0.05), ("one_way", 0.0), ("bidirectional", 0.02))
                         for seed in (0, 1) for epoch in range(4)])


def _legend_figures():
    from sbka_lite.evaluation import plot_per_class_presets

    rng = np.random.default_rng(0)
    names = [f"class{i:02d}" for i in range(11)]
    classes, modality = [names[i % 11] for i in range(44)], ["sketch"] * 22 + ["photo"] * 22
    history = pd.DataFrame({"step": range(10), "loss_cls": np.linspace(2, 1, 10), "loss_ka_student": np.linspace(1, .5, 10)})
    knowledge = pd.DataFrame({"class": ["guitar", "violin"], "split": "unseen", "known": [True, True], "top1": [0.9, 0.4]})
    settings = pd.DataFrame([{"setting": s, "seed": seed, "epoch": e, "val_acc": 0.5, "unseen_map_diagnostic": b + 0.1 * e}
                             for s, b in (("rises", 0.2), ("forgets", 0.8)) for seed in (0, 1) for e in range(3)])
    return {
        "umap_panels": lambda: plots.umap_panels([("a", rng.normal(size=(44, 2)), classes, modality)]),
        "loss_curves": lambda: plots.loss_curves(history, phase_boundary=5),
        "metric_bars (hue)": lambda: plots.metric_bars(
            pd.DataFrame({"arm": ["a", "a", "b", "b"], "how": ["x", "y", "x", "y"], "map": [.1, .2, .3, .4]}),
            x="arm", y="map", hue="how"),
        "scatter_panels": lambda: plots.scatter_panels([("p", rng.normal(size=(20, 2)), ["u", "v"] * 10)]),
        "learning_curves": lambda: plots.learning_curves(_learning_curve_rows()),
        "curves_by_setting": lambda: plots.curves_by_setting(settings),
        "teacher_knowledge_bars": lambda: plots.teacher_knowledge_bars({"imagenet": knowledge, "photo_world": knowledge}),
        "per_class_presets": lambda: plot_per_class_presets(pd.DataFrame(
            {"sbka": [1.0, 0.5], "sake": [1.0, 0.5], "zse": [0.9, 0.6]}, index=["cat", "dog"])),
    }


@pytest.mark.parametrize("name", list(_legend_figures()))
def test_each_legend_names_what_is_drawn(name):
    from figure_checks import legend_problems

    fig = _legend_figures()[name]()
    assert fig.legends or any(ax.get_legend() for ax in fig.axes), f"{name} draws no legend"
    assert legend_problems(fig) == []
    plt.close("all")


def test_the_legend_check_catches_a_wrong_entry_and_a_missing_one():
    from figure_checks import legend_problems

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], color="tab:blue", label="a")
    ax.plot([0, 1], [1, 0], color="tab:orange", label="b")
    ax.legend(handles=[matplotlib.lines.Line2D([], [], color="tab:blue", label="a"),
                       matplotlib.lines.Line2D([], [], color="tab:green", label="c")])
    problems = legend_problems(fig)
    assert any("'c'" in p for p in problems) and any("no legend entry" in p for p in problems), problems
    fig, ax = plt.subplots()
    ax.scatter([0, 1], [0, 1], marker="o", color="tab:blue")
    ax.legend(handles=[matplotlib.lines.Line2D([], [], marker="^", linestyle="", color="0.4", label="sketch"),
                       matplotlib.lines.Line2D([], [], marker="s", linestyle="", color="tab:blue", label="x")])
    assert legend_problems(fig) == ["legend entry 'sketch': marker '^' matches no scatter drawn"]
    plt.close("all")
