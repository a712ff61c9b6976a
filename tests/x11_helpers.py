"""A private virtual X display (Xvfb) for the window tests, and what another X client does to it.

Windows are found and closed the way a window manager would: libX11 through ctypes, with
no X tool installed. Screenshots are Pillow's ``ImageGrab.grab(xdisplay=...)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

_IS_VIEWABLE = 2  # XWindowAttributes.map_state: mapped, and all its ancestors are
_CLIENT_MESSAGE = 33  # the X event type


@contextlib.contextmanager
def xvfb(screen: str = "1280x800x24") -> Iterator[str]:
    """A private virtual X display, ``":N"``, of ``screen`` (width x height x depth), while open."""
    read, write = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", screen, "-nolisten", "tcp"],
                              pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    try:
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=30)


class _XClientMessageEvent(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]


class _XEvent(ctypes.Union):
    _fields_ = [("xclient", _XClientMessageEvent), ("pad", ctypes.c_long * 24)]


class _XWindowAttributes(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("width", ctypes.c_int), ("height", ctypes.c_int),
                ("border_width", ctypes.c_int), ("depth", ctypes.c_int), ("visual", ctypes.c_void_p),
                ("root", ctypes.c_ulong), ("class_", ctypes.c_int), ("bit_gravity", ctypes.c_int),
                ("win_gravity", ctypes.c_int), ("backing_store", ctypes.c_int),
                ("backing_planes", ctypes.c_ulong), ("backing_pixel", ctypes.c_ulong),
                ("save_under", ctypes.c_int), ("colormap", ctypes.c_ulong), ("map_installed", ctypes.c_int),
                ("map_state", ctypes.c_int), ("all_event_masks", ctypes.c_long),
                ("your_event_mask", ctypes.c_long), ("do_not_propagate_mask", ctypes.c_long),
                ("override_redirect", ctypes.c_int), ("screen", ctypes.c_void_p)]


def _x11() -> ctypes.CDLL:
    x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong),
                               ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
                               ctypes.POINTER(ctypes.c_uint)]
    x11.XFetchName.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_char_p)]
    x11.XGetWindowAttributes.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_XWindowAttributes)]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return x11


@contextlib.contextmanager
def _opened(xdisplay: str) -> Iterator[tuple[ctypes.CDLL, int]]:
    x11 = _x11()
    dpy = x11.XOpenDisplay(xdisplay.encode())
    assert dpy, "cannot open the X display"
    try:
        yield x11, dpy
    finally:
        x11.XCloseDisplay(dpy)


def send_wm_delete(xdisplay: str, window_id: int) -> None:
    """Ask the window to close as a window manager does: a WM_DELETE_WINDOW client message."""
    with _opened(xdisplay) as (x11, dpy):
        event = _XEvent()
        event.xclient.type = _CLIENT_MESSAGE
        event.xclient.window = window_id
        event.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", False)
        event.xclient.format = 32
        event.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", False)
        assert x11.XSendEvent(dpy, window_id, False, 0, ctypes.byref(event))
        x11.XFlush(dpy)


@dataclass(frozen=True)
class TopWindow:
    """A top-level window: its id, title, place and size on the screen (pixels), and whether it is shown."""

    window_id: int
    name: str | None
    x: int
    y: int
    width: int
    height: int
    viewable: bool


def top_windows(xdisplay: str) -> list[TopWindow]:
    """The children of the root window (with no window manager: the top-level windows), bottom first."""
    with _opened(xdisplay) as (x11, dpy):
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        n = ctypes.c_uint()
        assert x11.XQueryTree(dpy, x11.XDefaultRootWindow(dpy), ctypes.byref(root), ctypes.byref(parent),
                              ctypes.byref(children), ctypes.byref(n))
        found = []
        try:
            for i in range(n.value):
                title = ctypes.c_char_p()
                name = None
                if x11.XFetchName(dpy, children[i], ctypes.byref(title)) and title.value is not None:
                    name = title.value.decode()
                    x11.XFree(title)
                a = _XWindowAttributes()
                if not x11.XGetWindowAttributes(dpy, children[i], ctypes.byref(a)):
                    continue  # gone meanwhile
                found.append(TopWindow(int(children[i]), name, a.x, a.y, a.width, a.height,
                                       a.map_state == _IS_VIEWABLE))
        finally:
            if n.value:
                x11.XFree(children)
        return found


def window_named(xdisplay: str, name: str) -> int | None:
    """The id of the top-level window called ``name`` on the display, if there is one."""
    return next((w.window_id for w in top_windows(xdisplay) if w.name == name), None)
