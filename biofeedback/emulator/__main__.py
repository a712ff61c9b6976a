"""``python -m biofeedback.emulator --rr-file FILE``: an emulated strap for another terminal.

Starts a private D-Bus bus and an emulated BlueZ with one strap that plays the RR file
(one interval in ms per line), prints the ``export`` line that points bleak at it, and
runs until the strap has played its last frame or Ctrl-C (or SIGTERM). The strap starts
playing when a client subscribes to its Heart Rate Measurement notifications.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys
from collections.abc import Sequence
from typing import Final

from biofeedback.emulator.bluez import EmulatedBlueZ
from biofeedback.emulator.bus import PrivateBus
from biofeedback.emulator.strap import EmulatedStrap, frames_from_rr
from biofeedback.errors import BiofeedbackError
from biofeedback.formats import read_rr_file

DRAIN_S: Final[float] = 0.5  # after the last frame, time left for clients to read it, s


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m biofeedback.emulator",
        description="Play an RR file as an emulated Bluetooth heart-rate strap on a private D-Bus bus.",
    )
    parser.add_argument("--rr-file", required=True, help="RR intervals, one per line, in ms")
    parser.add_argument("--speed", type=float, default=1.0, help="strap seconds per real second (default 1)")
    parser.add_argument("--name", default="Polar H10 EMU12345", help="advertised name of the strap")
    parser.add_argument("--address", default="A0:9E:1A:E0:00:01", help="Bluetooth address of the strap")
    return parser


async def _serve(bus: PrivateBus, strap: EmulatedStrap) -> None:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    async with EmulatedBlueZ(bus.address) as bluez:
        await bluez.add_strap(strap)
        path = f" PATH={shlex.quote(str(bus.bin_dir))}:\"$PATH\"" if bus.bin_dir else ""
        print(f"export DBUS_SYSTEM_BUS_ADDRESS={shlex.quote(bus.address)}{path}", flush=True)
        print(
            f"# paste the line above in another terminal; '{strap.name}' ({strap.address}) plays "
            f"{len(strap.frames)} frames at speed {strap.speed:g} once a client subscribes; Ctrl-C stops",
            flush=True,
        )
        await strap.finished.wait()
        await asyncio.sleep(DRAIN_S)
        print(f"# done: {len(strap.sent)} frames sent, {len(strap.lost)} lost", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator; return the exit code (0 at the end of the frames or on Ctrl-C)."""
    args = _parser().parse_args(argv)
    try:
        rr_ms = read_rr_file(args.rr_file)
        strap = EmulatedStrap(name=args.name, address=args.address, frames=frames_from_rr(rr_ms), speed=args.speed)
        with PrivateBus() as bus:
            try:
                asyncio.run(_serve(bus, strap))
            except (KeyboardInterrupt, asyncio.CancelledError):
                print(f"# stopped: {len(strap.sent)} frames sent, {len(strap.lost)} lost", flush=True)
    except BiofeedbackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
