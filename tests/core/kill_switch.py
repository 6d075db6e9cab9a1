"""A test-only callback that SIGKILLs its own process at a known point (loaded by the resume tests through
`+callbacks.kill._target_=tests.core.kill_switch.KillSwitch`): a real kill -9, no handler runs, no file is closed."""
import os
import signal

import pytorch_lightning as pl


class KillSwitch(pl.Callback):
    def __init__(self, at_step: int | None = None, at_epoch_start: int | None = None):
        self.at_step, self.at_epoch_start = at_step, at_epoch_start

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.at_step is not None and trainer.global_step >= self.at_step:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_epoch_start(self, trainer, pl_module) -> None:  # right after the previous epoch ended
        if self.at_epoch_start is not None and trainer.current_epoch >= self.at_epoch_start:
            os.kill(os.getpid(), signal.SIGKILL)
