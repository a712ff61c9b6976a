"""Benchmarks of ``biofeedback train`` and ``replay``, each against its target; prints PASS/FAIL.

One command, from the repository root::

    python benchmarks/train.py            # all four; --skip-24h leaves out the long one

1. A 60-minute session (the simulated person, stored first) replayed with ``replay ID
   --speed max --ui none``: the whole command in a fresh interpreter (start-up, imports,
   the coach over every beat, the summary). Target: under 2 s. Both the wall time and the
   CPU time of the child are given: on a machine shared with other work the wall time
   includes waiting for a core, and the CPU time is what an idle machine would take.
2. The live loop with the terminal prompt at real time (the simulated person at speed 1,
   the full prompt in an 80×24 pseudo-terminal): the child's CPU time over 20 s of wall
   time once it runs (from ``/proc/PID/stat``), as a share of one core. Target: under 10%.
3. A 24-hour simulated session at ``--speed max`` into the store: the resident memory of
   the child sampled every second (``/proc/PID/status``), its peak, and its growth from
   the middle to the end. Target: peak under 150 MB.
4. ``biofeedback --help`` in a fresh interpreter (``benchmarks/run.py``'s measurement).
   Target: under 0.3 s.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

REPLAY_TARGET_S = 2.0
LIVE_TARGET_SHARE = 0.10
MEMORY_TARGET_MB = 150.0
HELP_TARGET_S = 0.3
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            "BIOFEEDBACK_HOME": str(home), "XDG_CONFIG_HOME": str(home / "config")}


def cli(home: Path, *argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "biofeedback", *argv], env=env(home), capture_output=True,
                          text=True, check=True, **kwargs)  # type: ignore[call-overload]


def children_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def replay_60_min(home: Path, repeats: int = 3) -> bool:
    cli(home, "train", "--source", "sim:3", "--minutes", "60", "--speed", "max", "--ui", "none", "--no-rating")
    walls, cpus = [], []
    for _ in range(repeats):
        c0, t0 = children_cpu_s(), time.perf_counter()
        out = cli(home, "replay", "1", "--speed", "max", "--ui", "none")
        walls.append(time.perf_counter() - t0)
        cpus.append(children_cpu_s() - c0)
    same = "the same" in out.stdout.splitlines()[-1]
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"1. replay of a 60-minute session, --speed max --ui none: {cpu:.2f} s CPU ({cpu / REPLAY_TARGET_S:.2f} of "
          f"the target; runs {', '.join(f'{c:.2f}' for c in cpus)} s), {wall:.2f} s wall "
          f"(median of {repeats}; target < {REPLAY_TARGET_S:g} s); the same coach decisions: {same}  "
          f"{verdict(cpu < REPLAY_TARGET_S and same)}")
    return cpu < REPLAY_TARGET_S and same


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_S  # utime, stime


def live_terminal(home: Path, settle_s: float = 8.0, measure_s: float = 20.0) -> bool:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "train", "--source", "sim:5", "--speed", "1",
                             "--minutes", "2", "--ui", "terminal", "--no-rating"], stdin=slave, stdout=slave,
                            stderr=slave, env={**env(home), "TERM": "xterm-256color"}, close_fds=True)
    os.close(slave)
    drained = [0]

    def drain() -> None:  # read the screen as a terminal would, so the child never blocks on it
        try:
            while chunk := os.read(master, 65536):
                drained[0] += len(chunk)
        except OSError:
            pass

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    time.sleep(settle_s)  # start-up and imports are not the loop
    c0, t0 = proc_cpu_s(proc.pid), time.perf_counter()
    time.sleep(measure_s)
    c1, t1 = proc_cpu_s(proc.pid), time.perf_counter()
    proc.terminate()
    proc.wait(timeout=30)
    os.close(master)
    share = (c1 - c0) / (t1 - t0)
    print(f"2. live loop with the terminal prompt at real time: {100 * share:.1f}% of one core over {t1 - t0:.0f} s "
          f"({drained[0] / 1e3:.0f} kB drawn; target < {100 * LIVE_TARGET_SHARE:g}%)  "
          f"{verdict(share < LIVE_TARGET_SHARE)}")
    return share < LIVE_TARGET_SHARE


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def memory_24_h(home: Path) -> bool:
    home.mkdir(parents=True, exist_ok=True)
    out_path, err_path = home / "stdout.txt", home / "stderr.txt"
    t0 = time.perf_counter()
    with out_path.open("w") as out_f, err_path.open("w") as err_f:  # files: a pipe read at the end would fill up
        proc = subprocess.Popen([sys.executable, "-m", "biofeedback", "train", "--source", "sim:2", "--minutes",
                                 "1440", "--speed", "max", "--ui", "none", "--no-rating"], env=env(home),
                                stdout=out_f, stderr=err_f, text=True)
        samples: list[tuple[float, float]] = []
        while proc.poll() is None:
            rss = rss_mb(proc.pid)
            if rss is not None:
                samples.append((time.perf_counter() - t0, rss))
            time.sleep(1.0)
    wall = time.perf_counter() - t0
    stdout, stderr = out_path.read_text(), err_path.read_text()
    if proc.returncode != 0:
        print(f"3. 24-hour session failed: {stderr.strip()[-300:]}  FAIL")
        return False
    peak = max(r for _, r in samples)

    def at(share: float) -> float:  # the RSS sampled at this share of the run's wall time
        return next(r for t, r in samples if t >= share * wall)

    # while the session runs (the end's summary and store writes left out): growth per simulated hour,
    # taking wall time as proportional to session time at --speed max
    per_hour = (at(0.9) - at(0.5)) / (0.4 * 24.0)
    beats = next((line for line in stdout.splitlines() if line.startswith("Session:")), "")
    print(f"3. 24-hour simulated session at --speed max: peak RSS {peak:.0f} MB (at a quarter {at(0.25):.0f} MB, "
          f"half {at(0.5):.0f}, 90% {at(0.9):.0f}: {per_hour:+.1f} MB per session hour while it runs; "
          f"{len(samples)} samples over {wall:.0f} s; {beats}; peak {peak / MEMORY_TARGET_MB:.2f} of the target "
          f"< {MEMORY_TARGET_MB:g} MB)  "
          f"{verdict(peak < MEMORY_TARGET_MB)}")
    return peak < MEMORY_TARGET_MB


def help_time() -> bool:
    from run import cli_help_time

    t = cli_help_time()
    ok = t["median_s"] < HELP_TARGET_S
    print(f"4. biofeedback --help: {t['median_s']:.3f} s (median of {t['repeats']:.0f}; target < {HELP_TARGET_S:g} s)"
          f"  {verdict(ok)}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-24h", action="store_true", help="leave out the 24-hour memory run (minutes)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="bf-bench-train-") as folder:
        home = Path(folder)
        results.append(replay_60_min(home / "replay"))
        results.append(live_terminal(home / "live"))
        if not args.skip_24h:
            results.append(memory_24_h(home / "memory"))
        results.append(help_time())
    print("all PASS" if all(results) else "some FAIL")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
