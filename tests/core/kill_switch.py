"""A test-only callback that sends its own process a signal at a known point (loaded by the resume and interrupt
tests through `+callbacks.kill._target_=tests.core.kill_switch.KillSwitch`). The default, SIGKILL, is a real
kill -9: no handler runs, no file is closed. `signal_name=SIGTERM` / `SIGINT` is what SLURM / Ctrl-C send."""
import os
import signal

import pytorch_lightning as pl


class KillSwitch(pl.Callback):
    def __init__(self, at_step: int | None = None, at_epoch_start: int | None = None, at_batch: int | None = None,
                 signal_name: str = "SIGKILL"):
        self.at_step, self.at_epoch_start, self.at_batch = at_step, at_epoch_start, at_batch  # at_batch: 1 = the 1st
        self.signum = signal.Signals[signal_name]
        self.sent, self.batches = False, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.batches += 1
        if (self.at_step is not None and trainer.global_step >= self.at_step) or self.batches == self.at_batch:
            self._send()

    def on_train_epoch_start(self, trainer, pl_module) -> None:  # right after the previous epoch ended
        if self.at_epoch_start is not None and trainer.current_epoch >= self.at_epoch_start:
            self._send()

    def _send(self) -> None:
        if not self.sent:  # once: a handled signal lets the run go on to the end of the batch
            self.sent = True
            os.kill(os.getpid(), self.signum)
