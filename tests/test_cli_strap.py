"""`biofeedback scan` and `record` as with a real strap: the emulated BlueZ runs in its own
thread (as bluetoothd runs in its own process) while the command runs in the test's."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ble_helpers import quantised

from biofeedback.cli import main
from biofeedback.emulator import EmulatedBlueZ, EmulatedStrap, PrivateBus, frames_from_rr
from biofeedback.formats import read_recording, read_rr_file

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "polarh10_slow_breathing.txt"


@contextlib.contextmanager
def bluez_in_thread(*straps: EmulatedStrap) -> Iterator[None]:
    """A private bus with an emulated BlueZ serving ``straps`` from another thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        async with EmulatedBlueZ() as bluez:
            for strap in straps:
                await bluez.add_strap(strap)
            ready.set()
            await stop.wait()

    def run() -> None:
        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            failure.append(exc)
            ready.set()

    with PrivateBus():
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        assert ready.wait(10) and not failure, failure
        try:
            yield
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(10)
            loop.close()


def test_scan_lists_the_strap_with_name_address_and_signal(capsys: pytest.CaptureFixture[str]) -> None:
    strap = EmulatedStrap(name="Polar H10 7E57AB12", address="a0:9e:1a:7e:57:ab", rssi_dbm=-58)
    with bluez_in_thread(strap):
        assert main(["scan", "--timeout", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "address", "signal"]
    assert lines[1].split() == ["Polar", "H10", "7E57AB12", "A0:9E:1A:7E:57:AB", "-58", "dBm"]


def test_scan_with_no_strap_in_range_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    not_a_strap = EmulatedStrap(name="Kitchen scale", address="11:22:33:44:55:66", advertise_hr_service=False)
    with bluez_in_thread(not_a_strap):
        assert main(["scan", "--timeout", "0.5"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().startswith("No heart-rate strap found in 0.5 s.")


def test_record_by_name_fragment_from_a_strap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rr = read_rr_file(SAMPLE)[:150]
    strap = EmulatedStrap(name="Polar H10 7E57AB12", frames=frames_from_rr(rr), speed=20)
    out = tmp_path / "s.csv"
    with bluez_in_thread(strap):
        assert main(["record", "--device", "polar", "--minutes", "1", "--out", str(out)]) == 0
    got = read_recording(out).rr_ms
    sent = quantised(rr)
    expected = int(np.searchsorted(np.cumsum(sent) / 1000, 60.0, side="right"))
    np.testing.assert_array_equal(got, sent[:expected])
    assert "Polar H10 7E57AB12 (A0:9E:1A:12:34:56), battery 87%" in capsys.readouterr().out


def test_two_straps_and_none_named_asks_the_user_to_choose(capsys: pytest.CaptureFixture[str]) -> None:
    a = EmulatedStrap(name="Polar H10 AAAA0001", address="A0:9E:1A:00:00:01")
    b = EmulatedStrap(name="TICKR 4B1C", address="C4:00:00:00:00:02")
    with bluez_in_thread(a, b):
        assert main(["record", "--minutes", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "Polar H10 AAAA0001" in err[0] and "TICKR 4B1C" in err[0] and "--device" in err[0]


def test_a_named_strap_that_is_not_there_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with bluez_in_thread(EmulatedStrap(name="Polar H10 AAAA0001")):
        assert main(["record", "--device", "garmin", "--minutes", "1", "--timeout", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "garmin" in err[0]


def test_regression_a_record_that_finds_no_strap_leaves_an_earlier_recording_intact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --out was opened (truncated) before looking for the strap: a run that found none,
    # or was stopped before the first beat, wiped the file it was pointed at
    out = tmp_path / "today.csv"
    out.write_text("t_s,rr_ms,flags\n0.8,800.0,\n")
    with bluez_in_thread(EmulatedStrap(name="Polar H10 AAAA0001")):
        assert main(["record", "--device", "garmin", "--out", str(out), "--timeout", "0.5"]) == 2
    assert out.read_text() == "t_s,rr_ms,flags\n0.8,800.0,\n"
    # an unusable --out is still reported before any Bluetooth is touched
    missing = tmp_path / "no-such-folder" / "s.csv"
    assert main(["record", "--out", str(missing)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == f"biofeedback: error: cannot write {missing}: No such file or directory; choose another path"


def read_recording_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_end_a_recording_as_ctrl_c_does_and_the_strap_sees_the_disconnect(
    tmp_path: Path, sig: signal.Signals
) -> None:
    # the process died of the signal: notifications never stopped, the emulated strap
    # stayed connected (the next scan found nothing), and the CSV was left mid-session
    rr = read_rr_file(SAMPLE)
    strap = EmulatedStrap(name="Polar H10 7E57AB12", frames=frames_from_rr(rr), speed=20)
    out = tmp_path / "s.csv"
    with bluez_in_thread(strap):  # the private bus's address is in os.environ: the child uses it
        proc = subprocess.Popen(
            [sys.executable, "-m", "biofeedback", "record", "--device", "polar", "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config")),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not out.exists() or len(read_recording_rows(out)) < 30):
            time.sleep(0.1)
        assert strap.connected and strap.notifying
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=30)
        # the strap saw notifications stopped and the link closed, before the process went
        connected_after, notifying_after = strap.connected, strap.notifying
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert not connected_after and not notifying_after
    rows = read_recording_rows(out)
    assert len(rows) >= 30
    assert f"Recorded {len(rows)} beats" in stdout
    np.testing.assert_array_equal([float(r["rr_ms"]) for r in rows], quantised(rr)[: len(rows)])
