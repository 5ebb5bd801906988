"""What a run logs as it goes, besides its learning curves: every step's training loss,
learning rate and speed as a plain CSV (steps.csv, nothing needed to read it) and, where
torch is installed, TensorBoard event files in the run directory (`tensorboard --logdir RUN`).

Both are rewritten consistently on resume: steps.csv is cut back to the checkpoint's step,
and TensorBoard is told to purge what came after it.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cifarlab.rundir.files import atomic_write_bytes, read_json

STEPS_FILE = "steps.csv"


@dataclass
class StepLog:
    """One row per training step."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # loop time when the step ended
    images_per_second: list[float] = field(default_factory=list)

    def append(self, **row) -> None:
        for name, value in row.items():
            getattr(self, name).append(value)

    def truncate(self, last_step: int) -> StepLog:
        keep = sum(s <= last_step for s in self.step)
        return StepLog(**{name: values[:keep] for name, values in asdict(self).items()})

    def write(self, run_dir: Path) -> None:
        table = asdict(self)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(table)
        writer.writerows(zip(*table.values()))
        atomic_write_bytes(run_dir / STEPS_FILE, text.getvalue().encode())

    @classmethod
    def read(cls, run_dir: Path) -> StepLog:
        """The saved rows, or none for a run written before steps.csv existed."""
        path = run_dir / STEPS_FILE
        if not path.is_file():
            return cls()
        rows = list(csv.DictReader(path.open()))
        types = {"step": int}
        return cls(**{name: [types.get(name, float)(row[name]) for row in rows] for name in asdict(cls())})


class TensorBoardLog:
    """Scalars for TensorBoard: per step step/loss, step/lr, step/images_per_second; per
    evaluation {split}/accuracy and {split}/loss. Written with TensorBoard's own event writer,
    so the NumPy engine does not load torch for it (torch's SummaryWriter would add about
    200 MB to its memory); silent where TensorBoard is not installed."""

    def __init__(self, run_dir: Path, resumed_at: int = 0):
        try:
            from tensorboard.compat.proto import event_pb2, summary_pb2
            from tensorboard.summary.writer.event_file_writer import EventFileWriter
        except ImportError:  # the CSV still has every step
            self.writer = None
            return
        self.run_dir, self.event, self.summary = run_dir, event_pb2, summary_pb2
        self.writer = EventFileWriter(str(run_dir))
        if resumed_at:  # events after the checkpoint belong to the run that was stopped: TensorBoard hides them
            start = event_pb2.SessionLog(status=event_pb2.SessionLog.START)
            self.writer.add_event(event_pb2.Event(step=resumed_at + 1, wall_time=time.time(), session_log=start))

    def _scalar(self, tag: str, value: float, step: int) -> None:
        summary = self.summary.Summary(value=[self.summary.Summary.Value(tag=tag, simple_value=float(value))])
        self.writer.add_event(self.event.Event(step=step, wall_time=time.time(), summary=summary))

    def step(self, step: int, loss: float, lr: float, images_per_second: float) -> None:
        if self.writer:
            self._scalar("step/loss", loss, step)
            self._scalar("step/lr", lr, step)
            self._scalar("step/images_per_second", images_per_second, step)

    def evaluation(self, step: int, metrics: dict) -> None:
        if self.writer:
            for split, (accuracy, loss) in metrics.items():
                self._scalar(f"{split}/accuracy", accuracy, step)
                self._scalar(f"{split}/loss", loss, step)
            self.writer.flush()

    def pictures(self, pictures: dict[str, bytes], step: int) -> None:
        """PNG pictures as images tagged "pictures/<name>", so TensorBoard shows each picture of
        every run side by side."""
        for name, png in pictures.items():
            width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")  # the PNG's IHDR
            image = self.summary.Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=png)
            summary = self.summary.Summary(value=[self.summary.Summary.Value(tag=f"pictures/{name}", image=image)])
            self.writer.add_event(self.event.Event(step=step, wall_time=time.time(), summary=summary))

    def hparams(self, options: dict, metrics: dict) -> None:
        """A sweep trial's options and results, so one TensorBoard compares the trials (through
        torch's writer, which builds the hparams plugin's records; skipped without torch)."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return
        plain = {k: ",".join(map(str, v)) if isinstance(v, (tuple, list)) else v for k, v in options.items()}
        with SummaryWriter(str(self.run_dir)) as writer:
            writer.add_hparams(plain, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=".")

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def add_pictures(run_dir: Path, pictures: dict[str, bytes], step: int | None = None) -> bool:
    """PNG pictures (name -> bytes) into the run's TensorBoard log (see TensorBoardLog.pictures);
    `step`: default the run's last step (metrics.json), else 0. False where TensorBoard is not installed."""
    board = TensorBoardLog(run_dir)
    if not board.writer:
        return False
    if step is None:
        metrics = run_dir / "metrics.json"
        step = int(read_json(metrics).get("stopped_at", 0)) if metrics.is_file() else 0
    board.pictures(pictures, step)
    board.close()
    return True


class RunLogs:
    """The step log and TensorBoard of one run, written by the main process only."""

    def __init__(self, run_dir: Path, resumed_at: int, is_main: bool):
        self.run_dir, self.is_main = run_dir, is_main
        self.steps = StepLog.read(run_dir).truncate(resumed_at) if resumed_at else StepLog()
        self.board = TensorBoardLog(run_dir, resumed_at) if is_main else None

    def step(self, step: int, loss: float, lr: float, seconds: float, images_per_second: float) -> None:
        if not self.is_main:
            return
        self.steps.append(step=step, loss=loss, lr=lr, seconds=seconds, images_per_second=images_per_second)
        self.board.step(step, loss, lr, images_per_second)

    def evaluation(self, step: int, metrics: dict) -> None:
        if self.is_main:
            self.steps.write(self.run_dir)
            self.board.evaluation(step, metrics)

    def close(self) -> None:
        if self.is_main:
            self.board.close()
