"""A fit stopped by SLURM's SIGUSR1 (before the time limit or a preemption; SIGTERM too with
callbacks.requeue_on_sigterm=true) puts its own job back in the queue, after StopOnSignal (src/core/interrupt.py) has written last.ckpt; the requeued job resumes from it through
`ckpt_path=auto` (src/core/auto_resume.py; the default under hydra/launcher=slurm).

Why our own `scontrol requeue $SLURM_JOB_ID` and not a library's:
- Lightning's SLURMEnvironment(auto_requeue) saves its own hpc_ckpt_<n>.ckpt (not last.ckpt) from inside the
  signal handler, wherever the step happens to be, and resumes from it only when nobody passes ckpt_path;
- submitit's checkpoint/requeue (max_num_timeout > 0) also acts inside its handler (for its own USR2) and only
  re-pickles the job: it knows nothing of our checkpoint.
Here the requeue comes after last.ckpt is complete on disk, at the end of an optimizer step, once per job (rank
zero), and the requeued job is the same submitit job (same pickle, same Hydra job number, same SLURM job id, so the
same run folder).

Exit code: the process still exits 128 + the signal number (138 for SIGUSR1, 143 for SIGTERM). SLURM ignores the
exit code of a job it has requeued (scontrol requeue ends the running copy itself and the job goes back to
PENDING); submitit, whose own requeue path exits 255 without a result file, just keeps waiting for the job.
"""
import os
import signal
import subprocess

from lightning_fabric.plugins.environments import SLURMEnvironment


def requeue_signals_for(requeue_on_sigterm: bool) -> tuple[signal.Signals, ...]:
    """SIGUSR1: SLURM's warning (--signal=USR1@<s>, conf/hydra/launcher/slurm.yaml) before the time limit, or at a
    preemption (PreemptParameters=send_user_signal). SIGTERM only when asked (callbacks.requeue_on_sigterm): scancel
    sends it too, and SLURM would requeue the cancelled job. SIGINT (Ctrl-C) is a person: never requeued."""
    return (signal.SIGUSR1, signal.SIGTERM) if requeue_on_sigterm else (signal.SIGUSR1,)


def lightning_slurm_environment() -> list[SLURMEnvironment]:
    """Under SLURM (as Lightning detects it): its SLURMEnvironment with its own requeue off, so one mechanism
    requeues. Lightning's would save hpc_ckpt_<n>.ckpt and requeue from its handler (before the fit's first step, or
    during the test after it), and a later fit without ckpt_path would silently resume that file. [] elsewhere."""
    return [SLURMEnvironment(auto_requeue=False)] if SLURMEnvironment.detect() else []


def requeue_command(job_id: str) -> list[str]:
    return ["scontrol", "requeue", job_id]


def requeue_this_job(signum: int, requeue_signals: tuple) -> str:
    """Requeue the SLURM job this process runs in -> the words to add to the interrupt line ("" outside SLURM or
    for a signal not in `requeue_signals`)."""
    job_id = os.environ.get("SLURM_JOB_ID")
    if not job_id or signum not in requeue_signals:
        return ""
    try:
        subprocess.run(requeue_command(job_id), check=True, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:  # no scontrol, a refusal (job cancelled), a hung daemon
        detail = getattr(err, "stderr", None) or str(err)
        reason = detail.strip().splitlines()[0] if detail.strip() else type(err).__name__
        return f"; SLURM job {job_id} NOT requeued ({reason}): resubmit it with ckpt_path=auto"
    return f"; SLURM job {job_id} requeued: it resumes from there with ckpt_path=auto"
