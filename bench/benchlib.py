"""benchlib.py: what the benchmark runners share: running a command with a timeout, a line describing the machine and the git revision of a tree."""
import os
import platform
import signal
import subprocess


class Failure(Exception):
    """A step of a benchmark run failed; the message says which command and why."""


def run(cmd, timeout, what, **kw):
    """Run cmd to completion in its own process group (a timeout kills the group); return stdout."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise Failure(f"{what} timed out after {timeout} s: {' '.join(cmd)}")
    if p.returncode != 0:
        raise Failure(f"{what} exited with status {p.returncode}: {' '.join(cmd)}\n--- stderr ---\n{err[-3000:]}"
                      f"\n--- stdout ---\n{out[-1000:]}")
    return out


def machine():
    model = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {model}, Linux {platform.release()}"


def git_rev(where):
    p = subprocess.run(["git", "-C", where, "describe", "--always", "--dirty"], capture_output=True, text=True)
    return p.stdout.strip() or "unknown"
