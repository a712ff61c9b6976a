"""What a person sees or hears while a session runs.

``status`` (the recording's status line), ``prompt`` (the frame a breathing prompt shows and
the plain words for it), ``terminal`` (the terminal prompt, its minimal line, the progress
line), ``window`` (the window prompt), ``calm`` (calm lines), ``sound`` (the breathing tone).
Import the module you need: the terminal and window prompts load ``rich`` and matplotlib's
Tk canvas, the sound ``sounddevice``.
"""
