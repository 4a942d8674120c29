"""The summary protos torch's SummaryWriter writes (scalars, histograms, images,
text, hparams) and a GraphDef of a traced hl program, built from tensorboard's own
protobufs (no TensorFlow, no torch). Imported only by `writer.py`, which loads on
first use of `lm.utils.tensorboard`."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np
from tensorboard.compat.proto.attr_value_pb2 import AttrValue
from tensorboard.compat.proto.graph_pb2 import GraphDef
from tensorboard.compat.proto.node_def_pb2 import NodeDef
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from tensorboard.plugins.hparams import metadata as hparams_metadata
from tensorboard.plugins.text.plugin_data_pb2 import TextPluginData

from lamina import errors
from lamina.errors import ArgumentError, with_location

__all__ = ["graph", "hparams", "histogram", "image", "scalar", "text"]


def to_numpy(value: Any) -> np.ndarray:
    """A lamina tensor, numpy array, number or (duck-typed) torch tensor as an array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu()
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


def _plugin(name: str, content: bytes = b"") -> SummaryMetadata:
    return SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name=name,
                                                                  content=content))


def scalar(tag: str, value: Any, new_style: bool = False,
           double_precision: bool = False) -> Summary:
    number = float(to_numpy(value).reshape(()))
    if not new_style:
        return Summary(value=[Summary.Value(tag=tag, simple_value=number)])
    tensor = TensorProto(dtype="DT_DOUBLE", double_val=[number]) if double_precision \
        else TensorProto(dtype="DT_FLOAT", float_val=[number])
    return Summary(value=[Summary.Value(tag=tag, tensor=tensor, metadata=_plugin("scalars"))])


def _tensorflow_bins() -> np.ndarray:
    """TensorFlow's default histogram edges: ±1e-12·1.1ᵏ up to 1e20, and 0."""
    v, positive = 1e-12, []
    while v < 1e20:
        positive.append(v)
        v *= 1.1
    return np.array([-x for x in reversed(positive)] + [0.0] + positive)


def histogram(tag: str, values: Any, bins: Any = "tensorflow",
              max_bins: int | None = None) -> Summary:
    """torch's make_histogram: numpy's counts with empty outer buckets trimmed."""
    values = to_numpy(values).astype(np.float64).reshape(-1)
    if values.size == 0:
        raise errors.like(ArgumentError, ValueError)(with_location(
            f"add_histogram: the input for {tag!r} has no element"))
    counts, limits = np.histogram(values, bins=_tensorflow_bins() if bins == "tensorflow"
                                  else bins)
    if max_bins is not None and len(counts) > max_bins:
        subsampling = len(counts) // max_bins
        remainder = len(counts) % subsampling
        if remainder:
            counts = np.pad(counts, (0, subsampling - remainder))
        counts = counts.reshape(-1, subsampling).sum(axis=-1)
        limits = np.concatenate([limits[:-1:subsampling], limits[-1:]])
    cum = np.cumsum(np.greater(counts, 0))
    start, end = np.searchsorted(cum, [0, cum[-1] - 1], side="right")
    start, end = int(start), int(end) + 1
    counts = counts[start - 1:end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start:end + 1]
    proto = HistogramProto(min=values.min(), max=values.max(), num=len(values),
                           sum=values.sum(), sum_squares=values.dot(values),
                           bucket_limit=limits.tolist(), bucket=counts.tolist())
    return Summary(value=[Summary.Value(tag=tag, histo=proto)])


def _png(hwc: np.ndarray) -> bytes:
    """A PNG (8-bit, gray/gray+alpha/RGB/RGBA, no filtering) of an HWC uint8 array."""
    height, width, channels = hwc.shape
    color = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\x00" + hwc[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def image(tag: str, img: Any, dataformats: str = "CHW") -> Summary:
    """torch's image summary: HWC, one channel repeated to RGB, floats (in [0, 1])
    times 255 clipped and truncated to uint8, uint8 as is; PNG-encoded."""
    array = to_numpy(img)
    fmt = dataformats.upper()
    if array.ndim != len(fmt) or sorted(fmt) not in (sorted("CHW"), sorted("HW")):
        raise errors.like(ArgumentError, ValueError)(with_location(
            f"add_image: an image of shape {array.shape} does not match dataformats "
            f"{dataformats!r} (CHW, HWC or HW)"))
    if len(fmt) == 2:
        hwc = np.stack([np.transpose(array, [fmt.index(c) for c in "HW"])] * 3, 2)
    else:
        hwc = np.transpose(array, [fmt.index(c) for c in "HWC"])
        if hwc.shape[2] == 1:
            hwc = np.concatenate([hwc] * 3, 2)
    scale = 1 if hwc.dtype == np.uint8 else 255
    hwc = (hwc.astype(np.float32) * scale).clip(0, 255).astype(np.uint8)
    proto = Summary.Image(height=hwc.shape[0], width=hwc.shape[1], colorspace=hwc.shape[2],
                          encoded_image_string=_png(np.ascontiguousarray(hwc)))
    return Summary(value=[Summary.Value(tag=tag, image=proto)])


def text(tag: str, text_string: str) -> Summary:
    meta = _plugin("text", TextPluginData(version=0).SerializeToString())
    tensor = TensorProto(dtype="DT_STRING", string_val=[text_string.encode("utf_8")],
                         tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]))
    return Summary(value=[Summary.Value(tag=tag + "/text_summary", metadata=meta,
                                        tensor=tensor)])


def _hparams_summary(tag: str, data: plugin_data_pb2.HParamsPluginData) -> Summary:
    data.version = hparams_metadata.PLUGIN_DATA_VERSION
    meta = _plugin(hparams_metadata.PLUGIN_NAME, data.SerializeToString())
    return Summary(value=[Summary.Value(tag=tag, metadata=meta)])


def hparams(hparam_dict: dict[str, Any], metric_dict: dict[str, Any],
            hparam_domain_discrete: dict[str, list[Any]] | None = None
            ) -> tuple[Summary, Summary, Summary]:
    """The experiment, session-start and session-end summaries of the hparams plugin."""
    if not isinstance(hparam_dict, dict) or not isinstance(metric_dict, dict):
        raise errors.like(ArgumentError, TypeError)(with_location(
            "add_hparams: hparam_dict and metric_dict should be dictionaries"))
    domains = hparam_domain_discrete or {}
    start = plugin_data_pb2.SessionStartInfo()
    infos = []
    for name, value in hparam_dict.items():
        if value is None:
            continue
        info = api_pb2.HParamInfo(name=name)
        if isinstance(value, bool):
            start.hparams[name].bool_value = value
            info.type = api_pb2.DATA_TYPE_BOOL
        elif isinstance(value, int | float | np.number):
            start.hparams[name].number_value = float(value)
            info.type = api_pb2.DATA_TYPE_FLOAT64
        elif isinstance(value, str):
            start.hparams[name].string_value = value
            info.type = api_pb2.DATA_TYPE_STRING
        else:  # torch accepts tensors: their value as a number
            start.hparams[name].number_value = float(to_numpy(value).reshape(()))
            info.type = api_pb2.DATA_TYPE_FLOAT64
        if name in domains:
            info.domain_discrete.extend(domains[name])
        infos.append(info)
    metrics = [api_pb2.MetricInfo(name=api_pb2.MetricName(tag=k)) for k in metric_dict]
    experiment = api_pb2.Experiment(hparam_infos=infos, metric_infos=metrics)
    end = plugin_data_pb2.SessionEndInfo(status=api_pb2.STATUS_SUCCESS)
    return (_hparams_summary(hparams_metadata.EXPERIMENT_TAG,
                             plugin_data_pb2.HParamsPluginData(experiment=experiment)),
            _hparams_summary(hparams_metadata.SESSION_START_INFO_TAG,
                             plugin_data_pb2.HParamsPluginData(session_start_info=start)),
            _hparams_summary(hparams_metadata.SESSION_END_INFO_TAG,
                             plugin_data_pb2.HParamsPluginData(session_end_info=end)))


def graph(module: Any) -> GraphDef:
    """The hl program as a GraphDef: one node per block argument ("input") and per op
    (named like its op, `hl.matmul_3`), edges from operands, and the op's text and
    result types as attributes, so TensorBoard's graph tab shows the program."""
    nodes: list[NodeDef] = []
    names: dict[int, str] = {}
    for func in module.body.block.ops:
        prefix = getattr(getattr(func, "sym_name", None), "data", "main")
        for block in func.regions[0].blocks if func.regions else ():
            for i, arg in enumerate(block.args):
                names[id(arg)] = f"{prefix}/input_{i}"
                nodes.append(NodeDef(name=names[id(arg)], op="input", attr={
                    "type": AttrValue(s=str(arg.type).encode())}))
            for k, op in enumerate(block.ops):
                name = f"{prefix}/{op.name}_{k}"
                for r in op.results:
                    names[id(r)] = name
                nodes.append(NodeDef(
                    name=name, op=op.name,
                    input=[names[id(v)] for v in op.operands if id(v) in names],
                    attr={"type": AttrValue(s=", ".join(str(r.type) for r in op.results)
                                            .encode()),
                          "ir": AttrValue(s=str(op).encode())}))
    return GraphDef(node=nodes)
