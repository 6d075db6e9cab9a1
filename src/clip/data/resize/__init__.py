"""`python -m data_tools.resize_videos`: a dataset tree re-encoded with a smaller short side, layout and names kept.

    settings.py    what decides the output (checked, recorded for a resume) and the output size
    containers.py  which container and encoder each video suffix gets
    frame_rate.py  --fps: which decoded frame each output frame shows
    transcode.py   decode, resize, encode one video (PyAV)
    file_job.py    one file: copied, re-encoded or failed, written to a temp name and renamed when whole
    destination.py the --src / --dst checks, the claim on --dst, stale temp files
    plan.py        the walk over --src: what is to do, what a killed run already did
    run.py         the jobs in --workers processes, the progress bar, failures.csv and resize_summary.json
"""
