"""A clock offset for the real binaries, so tests step past an expiry instead of sleeping.

A build with SHARELINK_TEST_HOOKS (the default of a tests build, never the package) adds
the whole seconds written in the file named by SHARELINK_TEST_CLOCK_OFFSET_FILE to its
wall clock, read at every reading of the clock (common/time_format.hpp). A process
started with ClockOffset.env() follows every later ClockOffset.pass_time(). In a build
without the hooks pass_time() sleeps instead, so a test means the same in both builds.
"""

import math
import os
import time

ENV_NAME = "SHARELINK_TEST_CLOCK_OFFSET_FILE"


def hooks_enabled():
    """True when the build under test has SHARELINK_TEST_HOOKS (read from its CMakeCache.txt)."""
    build_dir = os.environ.get("SHARELINK_BUILD_DIR")
    if not build_dir:
        return False
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            return any(line.strip() == "SHARELINK_TEST_HOOKS:BOOL=ON" for line in f)
    except OSError:
        return False


class ClockOffset:
    """The offset file of one installation: starts at 0 seconds."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "test-clock-offset")
        self.seconds = 0
        self.enabled = hooks_enabled()
        self._write()

    def env(self, base=None):
        """An environment (os.environ by default) that makes a process read this offset."""
        env = dict(os.environ if base is None else base)
        env[ENV_NAME] = self.path
        return env

    def pass_time(self, seconds):
        """Moves the processes' clock at least `seconds` forward (whole seconds, rounded up)."""
        if not self.enabled:
            time.sleep(seconds)
            return
        self.seconds += math.ceil(seconds)
        self._write()

    def set_back(self, seconds):
        """Sets the processes' clock `seconds` behind the real one; only with the hooks (enabled)."""
        assert self.enabled, "set_back needs a build with SHARELINK_TEST_HOOKS"
        self.seconds = -math.ceil(seconds)
        self._write()

    def reset(self):
        """Back to the real wall clock (for the next test of a class sharing one daemon)."""
        self.seconds = 0
        self._write()

    def _write(self):
        # Replaced in one rename, so a reader never sees a half-written number.
        temporary = self.path + ".tmp"
        with open(temporary, "w") as f:
            f.write("%d\n" % self.seconds)
        os.replace(temporary, self.path)
