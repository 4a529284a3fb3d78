#!/usr/bin/env python3
# Run a command on a pseudo-terminal, as a person's terminal would: the command is a session leader
# with the pty as its controlling terminal, so a ^C byte written to the pty makes the line
# discipline send SIGINT to its foreground process group, exactly as pressing Ctrl-C does.
# Our stdin is copied to the pty (write b'\x03' to press Ctrl-C), the pty's output to our stdout.
# Exits with the command's exit code (128 + n when a signal n ended it).
import os
import pty
import sys


def main() -> int:
    if len(sys.argv) < 2:
        sys.stderr.write("usage: run-in-pty.py <command> [args...]\n")
        return 2
    status = pty.spawn(sys.argv[1:])
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
