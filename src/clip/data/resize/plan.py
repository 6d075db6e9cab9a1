"""The walk over --src: one FileJob per file (videos and everything else: list files, annotation CSVs, classInd.txt),
at the same relative path under --dst; the jobs whose target already exists are done (a killed run's finished files).

Symlinked folders are not followed (a link to elsewhere could hold a whole other dataset); symlinked files are read
through. Partial files and, at the root, the report files of an earlier resize (when --src is itself a resized tree)
are not copied.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from src.clip.data.resize.containers import is_video
from src.clip.data.resize.destination import REPORT_NAMES
from src.clip.data.resize.file_job import PARTIAL_SUFFIX, FileJob
from src.clip.data.resize.settings import ResizeSettings


@dataclass
class Plan:
    todo: list[FileJob]
    done: list[FileJob]       # target already there

    @property
    def video_suffixes(self) -> set[str]:
        return {job.source.suffix.lower() for job in self.todo + self.done if is_video(job.source.suffix)}


def plan_jobs(src: Path, dst: Path, settings: ResizeSettings) -> Plan:
    todo, done = [], []
    for folder, subfolders, files in os.walk(src):
        subfolders.sort()                                  # a stable order: the same run, the same sequence
        for name in sorted(files):
            source = Path(folder) / name
            relative = source.relative_to(src)
            if name.endswith(PARTIAL_SUFFIX) or (folder == str(src) and name in REPORT_NAMES):
                continue
            job = FileJob(source, dst / relative, relative.as_posix(), settings)
            (done if job.target.exists() else todo).append(job)
    return Plan(todo, done)
