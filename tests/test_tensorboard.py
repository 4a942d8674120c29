"""lm.utils.tensorboard.SummaryWriter writes event files that TensorBoard's own
EventAccumulator reads back: scalars, scalar groups, histograms, images (decoded
pixel for pixel), text, the hl graph of a traced module, hparams."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import lamina as lm
import lamina.nn as nn
from lamina.utils.tensorboard import SummaryWriter


def _read(path):
    return EventAccumulator(str(path), size_guidance={"tensors": 0, "images": 0}).Reload()


def test_scalars_histograms_text_and_context_manager(tmp_path):
    with SummaryWriter(tmp_path) as w:
        for step in range(5):
            w.add_scalar("loss", lm.tensor(1.0 / (step + 1)), step)
        w.add_scalar("exact", 0.1, 0, new_style=True, double_precision=True)
        w.add_scalars("run", {"train": 1.0, "val": 2.0}, global_step=3)
        values = np.random.default_rng(0).standard_normal(1000)
        w.add_histogram("weights", lm.tensor(values), 2)
        w.add_text("note", "lamina **ran**", 1)
    acc = _read(tmp_path)
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == \
        [(s, pytest.approx(1.0 / (s + 1))) for s in range(5)]
    assert acc.Tensors("exact")[0].tensor_proto.double_val == [0.1]
    histo = acc.Histograms("weights")[0].histogram_value
    assert histo.num == 1000 and histo.sum == pytest.approx(values.sum(), rel=1e-6)
    assert histo.min == pytest.approx(values.min()) and sum(histo.bucket) == 1000
    assert acc.Tensors("note/text_summary")[0].tensor_proto.string_val == [b"lamina **ran**"]
    for tag, value in (("train", 1.0), ("val", 2.0)):
        run = _read(tmp_path / f"run_{tag}")
        assert [(e.step, e.value) for e in run.Scalars("run")] == [(3, value)]


@pytest.mark.parametrize(("shape", "fmt"), [((3, 5, 4), "CHW"), ((5, 4, 3), "HWC"),
                                            ((5, 4), "HW")])
def test_images_decode_to_the_pixels_written(tmp_path, shape, fmt):
    img = np.random.default_rng(1).random(shape).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_image("img", img, 0, dataformats=fmt)
    event = _read(tmp_path).Images("img")[0]
    decoded = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
    want = np.clip(img * 255, 0, 255).astype(np.uint8)  # truncated, as torch does
    if fmt == "CHW":
        want = want.transpose(1, 2, 0)
    elif fmt == "HW":  # gray repeated to RGB, as torch does
        want = np.stack([want] * 3, 2)
    assert (event.height, event.width) == (5, 4)
    np.testing.assert_array_equal(decoded, want)


def test_add_graph_shows_the_hl_program(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    with SummaryWriter(tmp_path) as w:
        w.add_graph(model, lm.ones(4, 3))
    graph = _read(tmp_path).Graph()
    ops = [n.op for n in graph.node]
    assert "hl.matmul" in ops and ops.count("input") >= 3
    matmul = next(n for n in graph.node if n.op == "hl.matmul")
    assert len(matmul.input) == 2 and b"hl.matmul" in matmul.attr["ir"].s
    assert all(i in {n.name for n in graph.node} for n in graph.node for i in n.input)


def test_add_hparams_writes_a_session_run(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams({"lr": 0.1, "optimizer": "sgd", "nesterov": True}, {"hp/acc": 0.75},
                      run_name="trial")
    run = _read(tmp_path / "trial")
    assert set(run.PluginTagToContent("hparams")) == {
        "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info"}
    assert run.Scalars("hp/acc")[0].value == 0.75


def test_default_log_dir_is_torchs_runs_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_exp")
    w.close()
    (run,) = os.listdir(tmp_path / "runs")
    assert run.endswith("_exp") and os.listdir(tmp_path / "runs" / run)


def test_summaries_equal_torchs():
    """The histogram and image protos torch.utils.tensorboard builds for the same data."""
    from torch.utils.tensorboard import summary as tsummary

    from lamina.utils.tensorboard import summaries

    values = np.random.default_rng(2).standard_normal(500) * 3
    ours = summaries.histogram("h", values).value[0].histo
    # (torch.utils.tensorboard.SummaryWriter passes these edges for bins="tensorflow")
    theirs = tsummary.histogram("h", values, summaries._tensorflow_bins()).value[0].histo
    assert list(ours.bucket_limit) == pytest.approx(list(theirs.bucket_limit))
    assert list(ours.bucket) == list(theirs.bucket) and ours.num == theirs.num
    img = np.random.default_rng(3).random((1, 6, 5)).astype(np.float32)
    decode = lambda s: np.asarray(Image.open(io.BytesIO(s.value[0].image.encoded_image_string)))
    np.testing.assert_array_equal(decode(summaries.image("i", img)),
                                  decode(tsummary.image("i", img, dataformats="CHW")))
