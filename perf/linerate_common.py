# SPDX-License-Identifier: Apache-2.0
"""What perf/linerate, perf/peers and perf/run-all record about the machine and the tree."""

import datetime
import os
import subprocess


def machine(root):
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    info = {}
    for line in lscpu.splitlines():
        k, _, v = line.partition(":")
        info[k.strip()] = v.strip()

    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True).stdout.strip()
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"model": info.get("Model name", "?"), "cpus": info.get("CPU(s)", "?"),
            "threads_per_core": info.get("Thread(s) per core", "?"), "hypervisor": info.get("Hypervisor vendor", ""),
            "load": os.getloadavg(), "commit": commit + ("-dirty" if dirty else ""),
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
