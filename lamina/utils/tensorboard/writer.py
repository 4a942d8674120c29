"""`SummaryWriter` with torch.utils.tensorboard's constructor and methods, writing
event files through tensorboard's `EventFileWriter` (readable by TensorBoard and by
`tensorboard.backend.event_processing.event_accumulator.EventAccumulator`)."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime
from typing import Any

from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from lamina.frontend.jit import jit
from lamina.utils.tensorboard import summaries

__all__ = ["SummaryWriter"]


class _FileWriter:
    """One event file: Events with a wall time and a step."""

    def __init__(self, log_dir: str, max_queue: int, flush_secs: int, filename_suffix: str):
        self.writer = EventFileWriter(log_dir, max_queue, flush_secs, filename_suffix)

    def add_event(self, event: Event, step: int | None = None,
                  walltime: float | None = None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.writer.add_event(event)

    def add_summary(self, summary: Summary, step: int | None = None,
                    walltime: float | None = None) -> None:
        self.add_event(Event(summary=summary), step, walltime)

    def get_logdir(self) -> str:
        return self.writer.get_logdir()

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class SummaryWriter:
    """Writes scalars, histograms, images, text, the hl graph of a traced function or
    module, and hparams to `log_dir` (default: runs/<date>_<host><comment>)."""

    def __init__(self, log_dir: str | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = ""):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: _FileWriter | None = None
        self.all_writers: dict[str, _FileWriter] = {}
        self._get_file_writer()

    def _get_file_writer(self) -> _FileWriter:
        if self.file_writer is None:
            self.file_writer = _FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                           self.filename_suffix)
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                self.file_writer.add_event(
                    Event(session_log=SessionLog(status=SessionLog.START)), self.purge_step)
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        return self.log_dir

    # ------------------------------------------------------------ summaries

    def add_scalar(self, tag: str, scalar_value: Any, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        self._get_file_writer().add_summary(
            summaries.scalar(tag, scalar_value, new_style, double_precision), global_step,
            walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict[str, Any],
                    global_step: int | None = None, walltime: float | None = None) -> None:
        """Each scalar in its own run `<log_dir>/<main_tag>_<tag>`, under `main_tag`."""
        walltime = time.time() if walltime is None else walltime
        base = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            run = os.path.join(base, main_tag.replace("/", "_") + "_" + tag)
            writer = self.all_writers.get(run)
            if writer is None:
                writer = _FileWriter(run, self.max_queue, self.flush_secs,
                                     self.filename_suffix)
                self.all_writers[run] = writer
            writer.add_summary(summaries.scalar(main_tag, value), global_step, walltime)

    def add_histogram(self, tag: str, values: Any, global_step: int | None = None,
                      bins: Any = "tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        self._get_file_writer().add_summary(
            summaries.histogram(tag, values, bins, max_bins), global_step, walltime)

    def add_image(self, tag: str, img_tensor: Any, global_step: int | None = None,
                  walltime: float | None = None, dataformats: str = "CHW") -> None:
        self._get_file_writer().add_summary(
            summaries.image(tag, img_tensor, dataformats), global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        self._get_file_writer().add_summary(summaries.text(tag, text_string), global_step,
                                            walltime)

    def add_graph(self, model: Any, input_to_model: Any = None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """The hl program of `model` (a function or module) traced on `input_to_model`
        (a tensor or a tuple of arguments)."""
        args = input_to_model if isinstance(input_to_model, tuple | list) else \
            () if input_to_model is None else (input_to_model,)
        module = jit(model).trace(*args)
        if verbose:
            print(module)
        graph_def = summaries.graph(module)
        self._get_file_writer().add_event(Event(graph_def=graph_def.SerializeToString()))

    def add_hparams(self, hparam_dict: dict[str, Any], metric_dict: dict[str, Any],
                    hparam_domain_discrete: dict[str, list[Any]] | None = None,
                    run_name: str | None = None, global_step: int | None = None) -> None:
        """A session of the hparams plugin in the run `<log_dir>/<run_name>` (default:
        the time), with the metrics as scalars there."""
        experiment, start, end = summaries.hparams(hparam_dict, metric_dict,
                                                   hparam_domain_discrete)
        run = os.path.join(self._get_file_writer().get_logdir(), run_name or str(time.time()))
        with SummaryWriter(log_dir=run) as writer:
            fw = writer._get_file_writer()
            for summary in (experiment, start, end):
                fw.add_summary(summary, global_step)
            for key, value in metric_dict.items():
                writer.add_scalar(key, value, global_step)

    # ------------------------------------------------------------ lifetime

    def flush(self) -> None:
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = None
        self.all_writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
