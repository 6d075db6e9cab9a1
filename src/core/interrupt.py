"""SIGUSR1 / SIGTERM / SIGINT during a fit (what SLURM sends before a time limit or a preemption, and when it stops
a job; Ctrl-C): the current training batch finishes, last.ckpt is written at that step, the run is marked
`interrupted`, and the process exits with 128 + the signal number (138 for SIGUSR1, 143 for SIGTERM, 130 for SIGINT).
`ckpt_path=<run dir>/last.ckpt` (or ckpt_path=auto) resumes exactly. Under SLURM, SIGUSR1 / SIGTERM also requeue
the job (src/core/slurm_requeue.py), after last.ckpt is written.

Why not Lightning's handling: Lightning 2.6 catches SIGTERM only (`trainer.received_sigterm`), saves nothing, and
raises `SIGTERMException`, a SystemExit without a code (the process exits 0), after the batch's loop bookkeeping;
Ctrl-C is a KeyboardInterrupt wherever the step happens to be (exit 1). Here the handler only notes the signal, and
`StopOnSignal` acts at the end of a training batch: the point where LastCheckpoint's step checkpoints are taken,
which tests/core/test_resume_exact.py shows resume exactly.
"""
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Checkpoint

from src.core.slurm_requeue import requeue_this_job

# The signals that stop a fit with a checkpoint. SIGUSR1: SLURM's warning before the time limit or a preemption
# (conf/hydra/launcher/slurm.yaml asks for it); Lightning's own SLURM handler for it is replaced during the fit.
STOP_SIGNALS = (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)


class Interrupted(SystemExit):
    """The fit stopped on a signal after writing last.ckpt; the process exits with 128 + the signal number."""

    def __init__(self, signum: int, line: str):
        super().__init__(128 + signum)
        self.signum, self.line = signum, line


class StopOnSignal(Checkpoint):
    """A Checkpoint subclass, so Lightning runs its hooks after every other callback's (and after LastCheckpoint's,
    listed before it): the checkpoint holds their state for this batch. `save_last(trainer)` writes `last_path`
    (every rank takes part: under DDP the decision to stop is shared, so all ranks stop at the same step)."""

    def __init__(self, last_path: Path, save_last: Callable[[pl.Trainer], None], requeue_signals: tuple = ()):
        self.last_path, self.save_last = Path(last_path), save_last
        self.requeue_signals = requeue_signals  # under SLURM these also requeue the job (src/core/slurm_requeue.py)
        self.received: int | None = None
        self._previous: dict = {}
        self._step_at_batch_start = -1

    def on_train_start(self, trainer, pl_module) -> None:
        # After Trainer._run has registered Lightning's SIGTERM handler: ours replaces it for the fit. Lightning's
        # teardown later puts back the handlers from before the fit, after ours are restored (on_train_end /
        # on_exception come first).
        self.received = None
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers (Lightning skips them there too)
        for signum in STOP_SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._note)

    def _note(self, signum: int, frame) -> None:
        self.received = signum

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self._step_at_batch_start = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        # Only after an optimizer step: gradients accumulated over earlier batches (accumulate_grad_batches) are
        # not in a checkpoint, so the stop waits for the batch that completes the step.
        if trainer.global_step != self._step_at_batch_start and self._should_stop(trainer):
            self.save_last(trainer)
            self._stop(trainer)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Inside validation the signal waits for here: LastCheckpoint (before this callback) has just written the
        # epoch's end.
        if self._should_stop(trainer):
            self._stop(trainer)

    def on_train_end(self, trainer, pl_module) -> None:
        self._restore()

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        self._restore()

    def _should_stop(self, trainer) -> bool:
        # trainer.received_sigterm: a SIGTERM caught by Lightning's handler before on_train_start
        noted = self.received is not None or trainer.received_sigterm
        return trainer.strategy.reduce_boolean_decision(noted, all=False)

    def _stop(self, trainer) -> None:
        signum = self.received or signal.SIGTERM  # a rank that got no signal stops with the others
        line = (f"interrupted by {signal.Signals(signum).name} at step {trainer.global_step}: {self.last_path} "
                f"written; continue with ckpt_path={self.last_path}")
        if trainer.is_global_zero:  # one requeue per job, after every rank has written its part of last.ckpt
            line += requeue_this_job(signum, self.requeue_signals)
            print(line, file=sys.stderr)
        raise Interrupted(signum, line)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
