"""The SAKE-layout reader: classes, items, mask, refusals, the leakage guard, QuickDraw's held-out split."""
from __future__ import annotations

import os
import pickle
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from fakes import make_quickdraw, make_sketchy, make_tuberlin, write_image, write_list
from sbka_lite.data import (
    BENCHMARKS,
    Benchmark,
    BenchmarkSpec,
    DatasetError,
    DatasetWarning,
    ImageReadError,
    LeakageError,
    compare_with_official,
    dataset_dir,
    open_benchmark,
    verify_images,
)
from sbka_lite.data.layout import read_filelist


@pytest.fixture()
def sketchy(tmp_path):
    return make_sketchy(tmp_path / "Sketchy")


def test_sketchy_classes_items_and_mask(sketchy):
    bench = open_benchmark(sketchy.root, "sketchy")
    assert isinstance(bench, Benchmark)
    assert bench.seen_classes == ["pig", "hot-air_balloon", "car_(sedan)"]  # ordered by train label
    assert bench.unseen_classes == ["cup", "teddy_bear"]  # zero list numbers them from 0
    for (split, modality), rows in sketchy.lists.items():
        items = bench.items(split, modality)
        assert [cls for _, cls in items] == sketchy.classes(split, modality)
        assert [path for path, _ in items] == [str(sketchy.root.resolve() / rel) for rel, _ in rows]
        assert all(os.path.isabs(path) and os.path.isfile(path) for path, _ in items)
    photos = [path for path, _ in bench.items("train", "photo")]
    assert any("/256x256/photo/" in p for p in photos) and any("/EXTEND_image_sketchy_ready/" in p for p in photos)
    assert bench.items("test", "photo") == []  # the layout has no photo test list
    assert bench.missing_lists == []

    assert set(bench.semantic_mask) == set(bench.seen_classes)
    matrix = bench.mask_matrix(["hot-air_balloon", "cup", "pig"])
    assert matrix.shape == (3, 1000) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], sketchy.mask[1].astype(np.float32))  # label 1 -> 2nd class
    assert not matrix[1].any()  # unseen class: zeros
    assert matrix[2, 0] == 1.0

    counts = bench.counts()
    assert counts.loc[("zero", "photo"), "images"] == len(sketchy.lists[("zero", "photo")])
    assert counts.loc[("train", "sketch"), "classes"] == 3
    assert counts.loc[("test", "photo"), "images"] == 0
    assert "sketchy" in repr(bench) and "3 seen, 2 unseen" in repr(bench)


def test_items_returns_a_copy(sketchy):
    bench = open_benchmark(sketchy.root, "sketchy")
    bench.items("train", "sketch").clear()
    assert len(bench.items("train", "sketch")) == len(sketchy.lists[("train", "sketch")])


def test_open_from_the_data_root_and_split2(tmp_path):
    make_sketchy(tmp_path / "Sketchy")
    make_sketchy(tmp_path / "Sketchy", zero_folder="zeroshot2", seen=("pig", "cup", "car_(sedan)"),
                 unseen=("hot-air_balloon", "teddy_bear"), mask=False)
    split1 = open_benchmark(tmp_path, "sketchy")  # data root: finds <root>/Sketchy/zeroshot1
    split2 = open_benchmark(tmp_path, "sketchy_split2")
    assert split1.root == split2.root == (tmp_path / "Sketchy").resolve()
    assert "cup" in split1.unseen_classes and "cup" in split2.seen_classes
    assert split2.semantic_mask is None and not split2.mask_matrix(split2.seen_classes).any()


def test_tuberlin_names_with_spaces_and_brackets(tmp_path):
    fake = make_tuberlin(tmp_path / "TUBerlin")
    bench = open_benchmark(fake.root, "tuberlin")
    assert bench.seen_classes == ["alarm clock", "wrist-watch", "pig"]
    assert bench.unseen_classes == ["mouse (animal)", "bottle opener"]
    photos = bench.items("zero", "photo")
    odd = [path for path, cls in photos if "[copy]" in path]
    assert odd and all(os.path.isfile(path) for path in odd)
    assert {cls for _, cls in photos} == {"mouse (animal)", "bottle opener"}
    first = fake.lists[("zero", "photo")][0][0]
    assert first.startswith("ImageResized_ready/mouse (animal)/n0 ") and first.endswith(" [copy].JPEG")
    assert photos[0] == (str(fake.root.resolve() / first), "mouse (animal)")


def test_missing_root_and_zero_folder_name_the_expected_path(tmp_path):
    with pytest.raises(DatasetError, match="does not exist") as err:
        open_benchmark(tmp_path / "nowhere", "sketchy")
    assert str(tmp_path / "nowhere" / "zeroshot1") in str(err.value)
    assert "data_scripts/get_sketchy.py" in str(err.value)

    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError) as err:
        open_benchmark(tmp_path / "empty", "tuberlin")
    assert str(tmp_path / "empty" / "zeroshot") in str(err.value)

    (tmp_path / "lists_gone" / "zeroshot").mkdir(parents=True)
    with pytest.raises(DatasetError, match="holds none of the expected lists") as err:
        open_benchmark(tmp_path / "lists_gone", "quickdraw")
    assert "sketch_filelist_train.txt" in str(err.value) and "all_photo_filelist_zero.txt" in str(err.value)


def test_missing_required_list_fails_on_use_not_on_open(tmp_path):
    fake = make_tuberlin(tmp_path / "TUBerlin")
    fake.list_path("train", "photo").unlink()  # it ships only inside the archive
    bench = open_benchmark(fake.root, "tuberlin")
    assert bench.missing_lists == [fake.list_path("train", "photo").resolve()]
    with pytest.raises(DatasetError) as err:
        bench.items("train", "photo")
    assert "ImageResized_ready_filelist_train.txt" in str(err.value)
    assert str(fake.list_path("train", "photo").resolve()) in str(err.value)
    assert bench.counts().loc[("train", "photo"), "source"].startswith("MISSING")
    assert bench.items("zero", "photo")  # everything else still works


@pytest.mark.parametrize("line, why", [
    ("256x256/sketch/tx_000000000000_ready/pig/x.png", "expected '<image path> <integer label>'"),
    ("256x256/sketch/tx_000000000000_ready/pig/x.png zero", "is not an integer"),
    ("256x256/sketch/tx_000000000000_ready/pig/x.png -1", "negative"),
    ("/etc/pig/x.png 0", "absolute"),
    ("C:/data/pig/x.png 0", "absolute"),
    ("../outside/pig/x.png 0", "'..'"),
    ("256x256/sketch/../../../pig/x.png 0", "'..'"),
    ("x.png 0", "no class folder"),
])
def test_malformed_or_unsafe_lines_are_refused_with_list_and_line(sketchy, line, why):
    path = sketchy.list_path("train", "sketch")
    rows = path.read_text().splitlines()
    rows.insert(2, line)
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DatasetError) as err:
        open_benchmark(sketchy.root, "sketchy")
    message = str(err.value)
    assert "sketch_tx_000000000000_ready_filelist_train.txt, line 3" in message
    assert why in message


def test_label_must_name_one_class_and_class_one_label(tmp_path):
    lst = tmp_path / "x_filelist_train.txt"
    write_list(lst, [("a/cat/1.png", 0), ("a/dog/2.png", 0)])
    with pytest.raises(DatasetError, match=r"line 2: label 0 names class folder 'dog' here but 'cat' on line 1"):
        read_filelist(lst)
    write_list(lst, [("a/cat/1.png", 0), ("a/dog/2.png", 1), ("a/cat/3.png", 2)])
    with pytest.raises(DatasetError, match=r"line 3: class folder 'cat' has label 2 here but 0 on line 1"):
        read_filelist(lst)


def test_paths_with_spaces_keep_everything_but_the_last_field(tmp_path):
    lst = tmp_path / "x_filelist_zero.txt"
    lst.write_text("\ufeffpng_ready/alarm clock/1 2.png   7\r\n\n  png_ready/mouse (animal)/3.png\t1  \n")
    parsed = read_filelist(lst)
    assert parsed.rel_paths == ["png_ready/alarm clock/1 2.png", "png_ready/mouse (animal)/3.png"]
    assert parsed.label_of == {"alarm clock": 7, "mouse (animal)": 1}
    assert parsed.classes_by_label() == ["mouse (animal)", "alarm clock"]


def test_leakage_unseen_class_in_a_seen_split(sketchy):
    rel = "256x256/sketch/tx_000000000000_ready/cup/leak-1.png"
    write_image(sketchy.root / rel)
    rows = sketchy.lists[("train", "sketch")] + [(rel, 3)]
    write_list(sketchy.list_path("train", "sketch"), rows)
    with pytest.raises(DatasetError, match="leakage") as err:
        open_benchmark(sketchy.root, "sketchy")
    assert "class 'cup' is in sketch_tx_000000000000_ready_filelist_train.txt" in str(err.value)


def test_leakage_same_image_in_train_and_zero(tmp_path):
    fake = make_tuberlin(tmp_path / "TUBerlin")
    shared = fake.lists[("train", "photo")][0][0]  # "ImageResized_ready/alarm clock/n0 ... [copy].JPEG"
    write_list(fake.list_path("zero", "photo"), fake.lists[("zero", "photo")] + [("./" + shared, 2)])
    with pytest.raises(DatasetError, match="leakage") as err:
        open_benchmark(fake.root, "tuberlin")
    message = str(err.value)
    assert f"./{shared} is in ImageResized_ready_filelist_train.txt" not in message  # reported as listed in train
    assert f"{shared} is in ImageResized_ready_filelist_train.txt and in ImageResized_ready_filelist_zero.txt" in message
    assert "class 'alarm clock'" in message


def test_quickdraw_holds_out_seen_sketches_reproducibly(tmp_path):
    fake = make_quickdraw(tmp_path / "QuickDraw")
    original = [(str(fake.root.resolve() / rel), Path(rel).parent.name) for rel, _ in fake.lists[("train", "sketch")]]
    bench = open_benchmark(fake.root, "quickdraw", val_fraction=0.2, seed=3)
    again = open_benchmark(fake.root, "quickdraw", val_fraction=0.2, seed=3)
    other = open_benchmark(fake.root, "quickdraw", val_fraction=0.2, seed=4)
    train, test = bench.items("train", "sketch"), bench.items("test", "sketch")
    assert test == again.items("test", "sketch") and train == again.items("train", "sketch")
    assert set(test) != set(other.items("test", "sketch"))
    assert not set(train) & set(test) and sorted(train + test) == sorted(original)
    assert [p for p in original if p in set(train)] == train  # train keeps the list order
    for cls in bench.seen_classes:  # stratified: 2 of 10 per class
        assert sum(c == cls for _, c in test) == 2
    assert bench.items("test", "photo") == [] and "held out" in bench.test_source
    assert bench.missing_lists == []
    assert bench.semantic_mask is None and not bench.mask_matrix(bench.seen_classes).any()
    assert open_benchmark(fake.root, "quickdraw", val_fraction=0.0).items("test", "sketch") == []
    with pytest.raises(ValueError, match="val_fraction"):
        open_benchmark(fake.root, "quickdraw", val_fraction=1.0)


def test_missing_files_are_counted(sketchy):
    gone = [sketchy.root / sketchy.lists[("zero", "photo")][i][0] for i in (0, 3)]
    for path in gone:
        path.unlink()
    with pytest.raises(DatasetError, match=r"2 of \d+ listed images are missing") as err:
        open_benchmark(sketchy.root, "sketchy")
    assert str(gone[0].resolve()) in str(err.value) and "check_files='drop'" in str(err.value)

    with pytest.warns(UserWarning, match="2 of"):
        dropped = open_benchmark(sketchy.root, "sketchy", check_files="drop")
    assert len(dropped.items("zero", "photo")) == len(sketchy.lists[("zero", "photo")]) - 2
    assert len(dropped.missing_files[("zero", "photo")]) == 2
    assert dropped.counts().loc[("zero", "photo"), "missing files"] == 2

    unchecked = open_benchmark(sketchy.root, "sketchy", check_files=False)
    assert len(unchecked.items("zero", "photo")) == len(sketchy.lists[("zero", "photo")])


def test_verify_images_counts_corrupt_files(sketchy):
    bench = open_benchmark(sketchy.root, "sketchy")
    items = bench.items("zero", "sketch")
    Path(items[1][0]).write_bytes(b"not a png at all")
    ok, failures = verify_images(items, progress=False)
    assert ok == len(items) - 1
    assert [path for path, _ in failures] == [items[1][0]] and failures[0][1]
    ok, failures = verify_images([path for path, _ in items], limit=2, progress=False)
    assert ok + len(failures) == 2


def test_mask_is_validated_and_loaded_safely(sketchy):
    mask = sketchy.root / "zeroshot1" / "cid_mask.pickle"
    mask.write_bytes(pickle.dumps({0: np.zeros(999)}))
    with pytest.raises(DatasetError, match="expected 1000 values"):
        open_benchmark(sketchy.root, "sketchy")

    class Exploit:
        def __reduce__(self):
            return (os.system, ("touch pwned",))

    mask.write_bytes(pickle.dumps({0: Exploit()}))
    with pytest.raises(DatasetError, match="not allowed"):
        open_benchmark(sketchy.root, "sketchy")
    assert not Path("pwned").exists()

    old_numpy = pickle.dumps({0: np.ones(1000)}, protocol=2).replace(b"numpy._core.", b"numpy.core.")
    mask.write_bytes(old_numpy)  # as numpy 1.x wrote it (the official masks predate numpy 2)
    with pytest.warns(UserWarning, match="no row for seen classes"):
        assert open_benchmark(sketchy.root, "sketchy").semantic_mask["pig"].sum() == 1000

    mask.write_bytes(pickle.dumps(np.ones((3, 1000), dtype=np.float32)))  # rows by label also work
    assert open_benchmark(sketchy.root, "sketchy").semantic_mask["car_(sedan)"].sum() == 1000
    mask.write_bytes(pickle.dumps({label: np.ones(1000) for label in (0, 1, 2, 9)}))
    with pytest.warns(UserWarning, match="labels \\[9\\]"):
        assert set(open_benchmark(sketchy.root, "sketchy").semantic_mask) == set(sketchy.seen)


def test_custom_dataset_through_overrides_and_specs(tmp_path):
    fake = make_sketchy(tmp_path / "mine", zero_folder="my_split")
    bench = open_benchmark(fake.root, "sketchy", zero_folder="my_split")
    assert bench.spec.zero_folder == "my_split" and bench.seen_classes == fake.seen
    spec = BenchmarkSpec(name="mine", title="my data", folder="mine", zero_folder="my_split",
                         sketch_list="sketch_tx_000000000000_ready", photo_list="all_photo")
    assert open_benchmark(fake.root, spec).unseen_classes == fake.unseen
    assert BENCHMARKS["quickdraw"].holdout_test and not BENCHMARKS["sketchy"].holdout_test
    assert dataset_dir("tuberlin", tmp_path) == tmp_path / "TUBerlin"
    with pytest.raises(ValueError, match="unknown benchmark"):
        open_benchmark(fake.root, "imagenet")
    with pytest.raises(ValueError, match="split must be one of"):
        bench.items("val", "sketch")


def test_compare_with_official_flags_a_tiny_copy(sketchy):
    table = compare_with_official(open_benchmark(sketchy.root, "sketchy"))
    assert list(table["quantity"])[:2] == ["classes/seen", "classes/unseen"]
    assert table.set_index("quantity").loc["zero/photo", "official"] == 17_101
    assert not table["ok"].any()


def test_unmatched_zero_classes_warn(sketchy):
    rows = [row for row in sketchy.lists[("zero", "photo")] if "/teddy_bear/" not in row[0]]
    write_list(sketchy.list_path("zero", "photo"), rows)
    with pytest.warns(UserWarning, match="teddy_bear"):
        open_benchmark(sketchy.root, "sketchy")


def test_opening_a_large_list_is_fast(tmp_path):
    # ~ Sketchy's size; the reader parses and checks paths but never decodes images.
    rows = [(f"s/c{i % 100}/{i}.png", i % 100) for i in range(120_000)]
    write_list(tmp_path / "zeroshot" / "sketch_filelist_train.txt", rows)
    write_list(tmp_path / "zeroshot" / "sketch_filelist_zero.txt", [(f"z/u{i % 25}/{i}.png", i % 25) for i in range(30_000)])
    start = time.perf_counter()
    bench = open_benchmark(tmp_path, "synthetic", check_files=False)
    assert time.perf_counter() - start < 10
    assert len(bench.seen_classes) == 100 and len(bench.items("train", "sketch")) == 120_000


def test_image_read_error_keeps_its_path():
    err = ImageReadError("/x/y.png", "truncated")
    assert isinstance(err, OSError) and err.path == "/x/y.png" and "truncated" in str(err)
    assert pickle.loads(pickle.dumps(err)).path == "/x/y.png"
    assert issubclass(DatasetError, ValueError)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        import sbka_lite.data as data
        with pytest.raises(AttributeError):
            data.no_such_thing  # noqa: B018


def test_duplicate_lines_are_dropped_with_a_warning_naming_list_and_lines(sketchy):
    # Issue 12 case 3: one zero-photo line repeated 5 times turned 8 photos into 13 gallery items.
    clean = open_benchmark(sketchy.root, "sketchy").items("zero", "photo")
    rows = sketchy.lists[("zero", "photo")]
    first = rows[2][0]
    write_list(sketchy.list_path("zero", "photo"), rows + [rows[2]] * 4 + [("./" + first, rows[2][1])])
    with pytest.warns(DatasetWarning) as caught:
        bench = open_benchmark(sketchy.root, "sketchy")
    message = " ".join(str(w.message) for w in caught if issubclass(w.category, DatasetWarning))
    assert "all_photo_filelist_zero.txt: 5 duplicate line(s) dropped" in message
    assert f"line {len(rows) + 1} repeats line 3" in message and f"line {len(rows) + 5} repeats line 3" in message
    assert bench.items("zero", "photo") == clean  # the same gallery, in the same order, as without them
    assert bench.counts().loc[("zero", "photo"), "duplicate lines"] == 5
    assert bench.counts().loc[("zero", "sketch"), "duplicate lines"] == 0
    assert bench.duplicate_lines == {("zero", "photo"): [(len(rows) + k, 3) for k in range(1, 6)]}
    assert "5 duplicate list lines were dropped" in repr(bench)


def test_a_repeated_path_with_another_label_is_still_refused(tmp_path):
    lst = tmp_path / "x_filelist_train.txt"
    write_list(lst, [("a/cat/1.png", 0), ("a/dog/2.png", 1), ("a/cat/1.png", 1)])
    with pytest.raises(DatasetError, match=r"line 3: label 1 names class folder 'cat' here but 'dog'"):
        read_filelist(lst)


def test_an_image_link_leading_outside_the_root_is_refused_with_list_and_line(sketchy, tmp_path):
    # Issue 12 case 8: the same rule as for '..' and absolute list paths, applied to resolved links.
    rel = sketchy.lists[("zero", "photo")][1][0]
    # a sibling whose name starts with the root's ("Sketchy-extra" beside "Sketchy") is outside too
    for check_files, outside in ((True, tmp_path / "elsewhere" / "secret.png"),
                                 ("drop", sketchy.root.with_name(sketchy.root.name + "-extra") / "x.png")):
        write_image(outside)
        (sketchy.root / rel).unlink()
        (sketchy.root / rel).symlink_to(outside)
        with pytest.raises(DatasetError) as err:
            open_benchmark(sketchy.root, "sketchy", check_files=check_files)
        message = str(err.value)
        assert f"all_photo_filelist_zero.txt, line 2: {rel!r} is a symbolic link" in message
        assert str(outside.resolve()) in message and "outside the dataset root" in message

    # a linked folder counts the same; a link that stays inside the root is fine
    (sketchy.root / rel).unlink()
    (sketchy.root / rel).symlink_to(sketchy.root / sketchy.lists[("zero", "photo")][0][0])
    assert open_benchmark(sketchy.root, "sketchy").items("zero", "photo")
    cls_dir = (sketchy.root / sketchy.lists[("train", "sketch")][0][0]).parent  # pig: train and test sketches
    shutil.move(str(cls_dir), str(tmp_path / "moved"))
    cls_dir.symlink_to(tmp_path / "moved", target_is_directory=True)
    with pytest.raises(DatasetError, match="sketch_tx_000000000000_ready_filelist_train.txt, line 1: .*linked folder"):
        open_benchmark(sketchy.root, "sketchy")


def test_a_linked_dataset_root_is_allowed(sketchy, tmp_path):
    link = tmp_path / "data_link"
    link.symlink_to(sketchy.root, target_is_directory=True)
    bench = open_benchmark(link, "sketchy")
    assert bench.root == sketchy.root.resolve() and bench.items("zero", "photo")


def test_leakage_overlap_is_the_guards_own_count(sketchy):
    bench = open_benchmark(sketchy.root, "sketchy")
    assert bench.leakage_overlap() == {"images": 0, "classes": 0}
    zero = sketchy.lists[("zero", "sketch")]
    leaked = [(zero[0][0], 3), (zero[1][0], 3)]  # two images of one unseen class, a fresh train label
    write_list(sketchy.list_path("train", "sketch"), sketchy.lists[("train", "sketch")] + leaked)
    with pytest.raises(LeakageError) as err:
        open_benchmark(sketchy.root, "sketchy")
    assert err.value.report.counts() == {"images": 2, "classes": 1}
    assert err.value.report.classes == (Path(zero[0][0]).parent.name,)
    assert isinstance(err.value, DatasetError)


def test_the_guard_sees_an_unseen_image_listed_through_a_linked_seen_folder(sketchy):
    zero = sketchy.lists[("zero", "photo")]
    unseen_folder = sketchy.root / Path(zero[0][0]).parent
    alias = unseen_folder.parent / "kitten"  # a "new" seen class that is the unseen folder under another name
    alias.symlink_to(unseen_folder, target_is_directory=True)
    leaked = [(str(Path(rel).parent.parent / "kitten" / Path(rel).name), 3) for rel, _ in zero[:2]
              if Path(rel).parent == Path(zero[0][0]).parent]
    assert leaked
    write_list(sketchy.list_path("train", "photo"), sketchy.lists[("train", "photo")] + leaked)
    with pytest.raises(LeakageError) as err:
        open_benchmark(sketchy.root, "sketchy")
    assert err.value.report.counts()["images"] == len(leaked)


def test_class_names_are_one_unicode_form(tmp_path):
    import unicodedata
    composed, decomposed = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    assert composed != decomposed
    path = tmp_path / "list.txt"
    write_list(path, [(f"photo/{decomposed}/1.jpg", 0), (f"photo/{composed}/2.jpg", 0)])
    parsed = read_filelist(path)
    assert parsed.classes == [composed, composed] and parsed.label_of == {composed: 0}
    assert parsed.rel_paths[0] == f"photo/{decomposed}/1.jpg"  # the file on disk keeps its own spelling
