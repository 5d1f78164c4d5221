"""sbka_lite.trainer: the engine's validation (one optimisation step is covered by test_train.py and the fingerprint)."""
from __future__ import annotations

import pytest
import torch

from sbka_lite.data.decode import decode_image
from sbka_lite.data.loading import BadImageLog
from train_fakes import FakeBenchmark, tiny_config, tiny_trainer


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return FakeBenchmark(tmp_path_factory.mktemp("bench"))


@pytest.mark.parametrize("workers", [0, 2])
def test_validation_scores_every_readable_image_and_logs_the_others(bench, tmp_path, workers):
    config = tiny_config(tmp_path, val_batch_size=3, num_workers=workers)
    trainer = tiny_trainer(config, bench.seen_classes)
    label = {name: k for k, name in enumerate(bench.seen_classes)}
    items = [(path, label[name]) for path, name in bench.items("test", "sketch")]
    missing = str(tmp_path / "gone.png")
    items.insert(2, (missing, 0))
    log = BadImageLog()
    accuracy, loss = trainer.validate(items, log)
    assert trainer.model.training  # validation hands the model back in train mode

    good = [(path, y) for path, y in items if path != missing]
    model = trainer.model.eval()
    with torch.no_grad():
        images = torch.stack([trainer.eval_transform(decode_image(path)) for path, _ in good])
        logits = model.predict(images)
    truth = torch.tensor([y for _, y in good])
    assert accuracy == pytest.approx(float((logits.argmax(-1) == truth).float().mean()))
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(logits, truth)), rel=1e-5)
    assert log.failed == 1 and log.seen == len(items) and missing in log.bad[0]


def test_validation_without_items_or_readable_images_says_none(bench, tmp_path):
    trainer = tiny_trainer(tiny_config(tmp_path), bench.seen_classes)
    assert trainer.validate([], BadImageLog()) == (None, None)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    log = BadImageLog()
    assert trainer.validate([(str(broken), 0)], log) == (None, None) and log.failed == 1
