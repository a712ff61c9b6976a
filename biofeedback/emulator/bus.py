"""A private D-Bus bus for the emulated BlueZ: one ``dbus-daemon`` on a short unix socket.

:class:`PrivateBus` is a synchronous context manager. On entry it starts
``dbus-daemon --config-file=FILE --print-address --nofork`` listening on a unix socket in
a fresh temporary folder under ``/tmp`` (unix socket paths are limited to 107 bytes), with
a policy that allows everything; it points ``DBUS_SYSTEM_BUS_ADDRESS`` at it and puts a
tiny ``bluetoothctl`` that prints ``5.66`` first on ``PATH``, so that bleak's BlueZ version
check passes. On exit it stops the daemon, removes the folder and restores both variables.

Without a ``bluetoothctl`` bleak would only log a warning (``logging``, not ``warnings``),
but a real ``bluetoothctl`` of BlueZ 6.x on the host would make bleak refuse to connect.
"""

from __future__ import annotations

import logging
import os
import selectors
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Final, Self

from biofeedback.errors import EmulatorError

__all__ = ["PrivateBus"]

logger = logging.getLogger(__name__)

BUS_ENV: Final = "DBUS_SYSTEM_BUS_ADDRESS"
FAKE_BLUEZ_VERSION: Final = "5.66"
START_TIMEOUT_S: Final[float] = 10.0  # time allowed for dbus-daemon to print its address
STOP_TIMEOUT_S: Final[float] = 5.0  # time allowed for dbus-daemon to exit on SIGTERM
_MAX_SOCKET_PATH_BYTES: Final[int] = 107  # sun_path is 108 bytes with the final NUL

_CONFIG_TEMPLATE: Final = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """A throw-away D-Bus bus that bleak takes for the system bus.

    Use as ``with PrivateBus() as bus: ...``; ``bus.address`` is the address clients
    connect to. Set the environment before bleak's first call in an event loop: bleak
    keeps one connection per loop and dbus-fast reads ``DBUS_SYSTEM_BUS_ADDRESS`` when
    it connects.

    Parameters
    ----------
    fake_bluetoothctl : bool
        Put a ``bluetoothctl`` printing ``5.66`` first on ``PATH`` (default True).

    Raises
    ------
    EmulatorError
        ``dbus-daemon`` is not installed, or it did not start.
    """

    def __init__(self, *, fake_bluetoothctl: bool = True) -> None:
        self._fake_bluetoothctl = fake_bluetoothctl
        self._dir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._saved_env: dict[str, str | None] = {}
        self.address: str = ""

    def __enter__(self) -> Self:
        daemon = shutil.which("dbus-daemon")
        if daemon is None:
            raise EmulatorError(
                "dbus-daemon is not installed: install the Debian package 'dbus-daemon' (or 'dbus' on older releases)"
            )
        try:
            self._start(daemon)
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()

    @property
    def bin_dir(self) -> Path | None:
        """Folder holding the fake ``bluetoothctl``, or None when there is none."""
        if self._dir is None or not self._fake_bluetoothctl:
            return None
        return self._dir / "bin"

    @property
    def pid(self) -> int | None:
        """Process id of the running ``dbus-daemon``, or None when stopped."""
        return None if self._process is None else self._process.pid

    def _start(self, daemon: str) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="bfbus-", dir="/tmp" if os.path.isdir("/tmp") else None))
        socket_path = self._dir / "bus"
        if len(os.fsencode(socket_path)) > _MAX_SOCKET_PATH_BYTES:
            raise EmulatorError(f"temporary folder {self._dir} is too long for a unix socket path: set TMPDIR to a short folder")
        config = self._dir / "bus.conf"
        config.write_text(_CONFIG_TEMPLATE.format(socket=socket_path), encoding="utf-8")

        log = self._dir / "daemon.log"
        with open(log, "wb") as log_file:
            self._process = subprocess.Popen(
                [daemon, f"--config-file={config}", "--print-address", "--nofork"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
            )
        self.address = self._read_address(self._process, log)
        logger.debug("dbus-daemon %d listening at %s", self._process.pid, self.address)

        self._set_env(BUS_ENV, self.address)
        if self._fake_bluetoothctl:
            bin_dir = self._dir / "bin"
            bin_dir.mkdir()
            script = bin_dir / "bluetoothctl"
            script.write_text(f"#!/bin/sh\necho {FAKE_BLUEZ_VERSION}\n", encoding="utf-8")
            script.chmod(0o755)
            old_path = os.environ.get("PATH")
            self._set_env("PATH", str(bin_dir) + (os.pathsep + old_path if old_path else ""))

    @staticmethod
    def _read_address(process: subprocess.Popen[bytes], log: Path) -> str:
        """Read the first line dbus-daemon prints: its address."""
        assert process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout=START_TIMEOUT_S):
                raise EmulatorError(f"dbus-daemon printed no address within {START_TIMEOUT_S:g} s")
        line = process.stdout.readline().decode("utf-8", "replace").strip()
        if not line:
            process.wait(timeout=STOP_TIMEOUT_S)
            err = log.read_text("utf-8", "replace").strip().replace("\n", " ")
            raise EmulatorError(f"dbus-daemon failed to start: {err or 'no message'}")
        return line

    def _set_env(self, name: str, value: str) -> None:
        if name not in self._saved_env:
            self._saved_env[name] = os.environ.get(name)
        os.environ[name] = value

    def _stop(self) -> None:
        for name, old in self._saved_env.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old
        self._saved_env.clear()

        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()

        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
