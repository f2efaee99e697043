"""Helpers for the browser test: a throw-away JupyterLab server and Chromium page actions.

Everything here is bounded in time and touches nothing outside a temporary folder: the
server serves a *copy* of the notebooks, and its config, data, settings, workspace and
runtime folders live under that folder too (the venv's lab extensions, such as
ipywidgets' ``@jupyter-widgets/jupyterlab-manager``, are still found through
``sys.prefix/share/jupyter``). Nothing here downloads anything: the browser is Debian's
``chromium`` and the server is told not to fetch news or check for updates.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM_INSTALL = "sudo apt-get update && sudo apt-get install -y chromium"
PLAYWRIGHT_INSTALL = ".venv/bin/pip install -e '.[dev]'"  # never `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # The page only talks to 127.0.0.1; an http_proxy in the environment must not apply.
    "--no-proxy-server",
]
# JupyterLab plugins that would reach the network or pop up toasts over the notebook.
DISABLED_LAB_PLUGINS = [
    "@jupyterlab/apputils-extension:announcements",
    "@jupyterlab/extensionmanager-extension",
]


class Deadline:
    """A wall-clock budget shared by every wait of one test, so the total stays bounded."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self, cap: float) -> float:
        """Seconds to allow the next step: at most ``cap``, never past the deadline."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("the browser test ran out of its time budget")
        return min(cap, left)

    def ms(self, cap: float) -> float:
        """:meth:`left` in milliseconds, the unit of Playwright timeouts."""
        return 1000.0 * self.left(cap)


def is_ci() -> bool:
    """True in CI (``CI=true``, as GitHub Actions and most CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def find_chromium() -> str | None:
    """Path of Debian's ``chromium`` on PATH, or None."""
    return shutil.which("chromium")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Direct connections only: the server is local, whatever proxy the environment names.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LabServer:
    """``jupyter lab`` on a free localhost port, serving ``root_dir``, isolated under ``home``.

    Call :meth:`stop` when done (it also ends the kernels), whatever happened.
    """

    def __init__(self, root_dir: Path, home: Path):
        self.root_dir = Path(root_dir)
        self.home = Path(home)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.home / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    def _environment(self) -> dict[str, str]:
        dirs = {name: self.home / name for name in
                ("config", "data", "runtime", "settings", "workspaces", "ipython")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        labconfig = dirs["config"] / "labconfig"
        labconfig.mkdir(exist_ok=True)
        (labconfig / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {name: True for name in DISABLED_LAB_PLUGINS}}))
        env = dict(os.environ)
        # MPLBACKEND too: ipykernel picks the inline backend only when it is unset, and a
        # test runner's MPLBACKEND=Agg would hide the chapter's plain pyplot figures.
        for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTER_PLATFORM_DIRS", "MPLBACKEND"):
            env.pop(var, None)
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(dirs["ipython"]),
            PYTHONUNBUFFERED="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
        )
        return env

    def start(self, timeout: float) -> None:
        """Start the server and wait (at most ``timeout`` s) until its API answers."""
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
            # A safety net should this process be killed before its finalizer runs.
            "--ServerApp.shutdown_no_activity_timeout=600",
            "--MappingKernelManager.cull_idle_timeout=0",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # CI containers often run as root
        env = self._environment()
        log = open(self.log_path, "wb")
        try:
            # Own session: if the test process dies, nothing here holds its terminal.
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=env,
                                         cwd=self.home, start_new_session=True)
        finally:
            log.close()
        end = time.monotonic() + timeout
        status = f"{self.url}/api/status?token={self.token}"
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with _OPENER.open(status, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"jupyter lab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the server then shuts its kernels down), then SIGKILL its process group."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:  # anything left in the server's own process group (a stuck kernel)
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?token={self.token}"


def launch_chromium(playwright, executable: str):
    """Headless Debian Chromium through Playwright (never Playwright's own browsers).

    Playwright gives each launch a fresh temporary profile and deletes it on close.
    """
    return playwright.chromium.launch(executable_path=executable, headless=True,
                                      args=CHROMIUM_ARGS, timeout=30_000)


# -- page actions ------------------------------------------------------------------


def accept_kernel_dialog(page) -> None:
    """If JupyterLab asks which kernel to use, accept its proposal (Python 3)."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and "kernel" in dialog.first.inner_text().lower():
        dialog.locator(".jp-mod-accept").first.click()


def open_notebook(page, server: LabServer, name: str, deadline: Deadline) -> None:
    """Open ``name`` in the lab and wait until its kernel is started and idle.

    The toolbar's execution indicator says "idle" before any kernel exists, so the
    kernel name (no longer "No Kernel") is checked too: Run All Cells issued earlier is
    silently dropped.
    """
    page.goto(server.notebook_url(name), timeout=deadline.ms(45), wait_until="domcontentloaded")
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=deadline.ms(45))
    toolbar = page.locator(".jp-NotebookPanel-toolbar").first
    indicator = toolbar.locator(".jp-Notebook-ExecutionIndicator")
    kernel = toolbar.locator(".jp-Toolbar-kernelName")
    end = time.monotonic() + deadline.left(45)
    while time.monotonic() < end:
        accept_kernel_dialog(page)
        if (kernel.count() and kernel.first.inner_text().strip() not in {"", "No Kernel"}
                and indicator.count() and indicator.first.get_attribute("data-status") == "idle"):
            return
        page.wait_for_timeout(200)
    raise TimeoutError("the notebook's kernel did not start (toolbar: "
                       f"{toolbar.inner_text()!r})")


def run_all_cells(page, deadline: Deadline) -> None:
    """Run > Run All Cells, through the main menu as a learner would; check it started."""
    page.locator(".jp-NotebookPanel .jp-Notebook").first.click(position={"x": 5, "y": 5})
    page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click(
        timeout=deadline.ms(10))
    page.locator(".lm-Menu .lm-Menu-item", has_text=re.compile(r"^Run All Cells")).first.click(
        timeout=deadline.ms(10))
    # Queued cells show [*] at once; a very fast first cell may already show [1].
    started = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt",
                           has_text=re.compile(r"\[(\*|\d+)\]"))
    started.first.wait_for(state="attached", timeout=deadline.ms(15))


_PROMPTS_JS = """() => [...document.querySelectorAll(
    '.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')].filter(p => p.textContent.includes('*')).length
"""
# JupyterLab renders a traceback as stderr; unlike a warning, it has a line that starts
# with the exception's name ("ZeroDivisionError: division by zero").
_ERRORS_JS = """() => [...document.querySelectorAll(
    ".jp-NotebookPanel .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")]
    .map(e => e.textContent)
    .filter(t => /^[A-Za-z_][\\w.]*(Error|Exception|Exit|Interrupt)\\b/m.test(t))
"""


def wait_for_run(page, selector: str, deadline: Deadline, cap: float, settle: float = 5.0) -> None:
    """Wait until every cell has run (no ``[*]`` left) and ``selector`` is visible.

    Fails at once, with the traceback, if a cell raised; and ``settle`` seconds after the
    run ended if ``selector`` still has not appeared.
    """
    target = page.locator(selector)
    end = time.monotonic() + deadline.left(cap)
    finished_at = None
    while time.monotonic() < end:
        accept_kernel_dialog(page)
        running = page.evaluate(_PROMPTS_JS)
        errors = page.evaluate(_ERRORS_JS)
        if errors:
            raise AssertionError(f"a cell raised an error:\n{errors[0][-2000:]}")
        if running == 0:
            if target.count() and target.first.is_visible():
                return
            finished_at = finished_at or time.monotonic()
            if time.monotonic() - finished_at > settle:
                raise AssertionError(f"all cells ran but {selector!r} did not appear")
        else:
            finished_at = None
        page.wait_for_timeout(250)
    raise TimeoutError(f"after {cap:.0f} s of Run All Cells, {page.evaluate(_PROMPTS_JS)} cells "
                       f"were still queued or running ({selector!r} "
                       f"{'present' if target.count() else 'absent'})")


def nudge_slider(slider, presses: int) -> None:
    """Focus a noUiSlider handle (ipywidgets 8 sliders) and press ArrowRight ``presses`` times."""
    handle = slider.locator(".noUi-handle").first
    handle.focus()
    for _ in range(presses):
        handle.press("ArrowRight")


def wait_for_change(read, before: str, timeout: float, poll: float = 0.1) -> str:
    """Poll ``read()`` until it differs from ``before``; return the last value read."""
    end = time.monotonic() + timeout
    now = read()
    while now == before and time.monotonic() < end:
        time.sleep(poll)
        now = read()
    return now


def wait_for_stable(read, quiet: float, timeout: float, poll: float = 0.1) -> str:
    """Poll ``read()`` until it has not changed for ``quiet`` seconds; return that value.

    Several key presses send several updates; this waits for the last one to land.
    """
    end = time.monotonic() + timeout
    last, since = read(), time.monotonic()
    while time.monotonic() < end and time.monotonic() - since < quiet:
        time.sleep(poll)
        now = read()
        if now != last:
            last, since = now, time.monotonic()
    return last


# -- the harness both browser tests share ---------------------------------------------------
CHAPTERS = Path(__file__).resolve().parents[1] / "chapters"
# Set to a folder to keep the screenshots (a CI artifact); otherwise they stay in tmp_path.
ARTIFACTS_ENV = "BROWSER_TEST_ARTIFACTS"


def require_chromium() -> str:
    """Chromium's path; skip on a learner's machine without it, FAIL in CI (CI=true)."""
    import pytest

    path = find_chromium()
    missing, install = None, CHROMIUM_INSTALL
    if path is None:
        missing = "Debian's `chromium` is not on PATH"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing, install = "the Python package `playwright` is not installed", PLAYWRIGHT_INSTALL
    if missing is None:
        return path
    if is_ci():
        pytest.fail(f"{missing} (CI=true, so the browser test cannot be skipped). "
                    f"Install it with: {install}", pytrace=False)
    pytest.skip(f"{missing}; install it with `{install}` to run the browser test")


@contextlib.contextmanager
def widget_in_lab(tmp_path: Path, notebook: str, widget: str, *, budget_s: float, cap: float,
                  failure_png: str):
    """Serve a copy of chapters/ in JupyterLab, open ``notebook`` in Chromium, run every cell,
    and yield ``(page, box, laps, deadline)`` once the first ``widget`` shows its readout.

    ``laps`` records seconds since the start per phase (``laps["server up"]`` ...). Whatever
    fails inside, a full-page screenshot is saved under the artifacts folder and its path and
    the end of JupyterLab's log are in the AssertionError. The server and browser always stop.
    """
    chromium = require_chromium()
    assert (CHAPTERS / notebook).is_file(), f"{CHAPTERS / notebook} does not exist"
    shots = Path(os.environ.get(ARTIFACTS_ENV) or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    deadline, t0, laps = Deadline(budget_s), time.monotonic(), {}

    def lap(phase: str) -> None:
        laps[phase] = round(time.monotonic() - t0, 1)

    root = tmp_path / "chapters"  # a copy: JupyterLab's autosave never writes into the repo
    shutil.copytree(CHAPTERS, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    lab = LabServer(root, tmp_path / "jupyter")
    try:
        lab.start(timeout=deadline.left(60))
        lap("server up")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = launch_chromium(pw, chromium)
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 1000})
                page.set_default_timeout(deadline.ms(20))
                try:
                    open_notebook(page, lab, notebook, deadline)
                    lap("kernel idle")
                    run_all_cells(page, deadline)
                    wait_for_run(page, f"{widget} .course-readout", deadline, cap=cap)
                    lap("all cells ran")
                    box = page.locator(widget).first
                    box.locator(".course-readout").scroll_into_view_if_needed()
                    yield page, box, laps, deadline, shots
                except Exception as exc:  # pytest.fail/skip are BaseException: not caught here
                    shot = shots / failure_png
                    try:
                        page.screenshot(path=shot, full_page=True)
                    except Exception as shot_error:  # the page may be gone
                        shot = f"(no screenshot: {shot_error})"
                    kind = "" if isinstance(exc, AssertionError) else f"{type(exc).__name__}: "
                    raise AssertionError(f"{kind}{exc}\nscreenshot: {shot}\n"
                                         f"JupyterLab log (tail):\n{lab.log_tail(1500)}") from exc
            finally:
                browser.close()
    finally:
        lab.stop()


# -- the browser's slider, in Python ------------------------------------------------------------
def js_round(x: float) -> int:
    """JavaScript's Math.round: the nearest integer, halves toward +infinity."""
    return math.floor(x + 0.5)


def nouislider_handle(value: float, lo: float, hi: float, step: float) -> float:
    """Where noUiSlider 15 puts a handle set to ``value`` on ``[lo, hi]`` with ``step``, and reports it.

    Its arithmetic, in the same order (so the same doubles): value -> percent
    (``toStepping``), snapped to the step in percent (``getStep``), clamped to [0, 100], and
    back (``fromStepping``). The source is in the venv's
    ``share/jupyter/labextensions/@jupyter-widgets/jupyterlab-manager/static``.
    """
    pct = 100.0 if value >= hi else (100 * (value - lo)) / (hi - lo) / 1.0
    if pct != 100:
        n = (100 * step) / (hi - lo) / 1.0
        pct = 0 + js_round((pct - 0) / n) * n
    pct = max(min(pct, 100.0), 0.0)
    if pct >= 100:
        return hi
    return (pct - 0) * 1.0 * (hi - lo) / 100 + lo


class SliderFrontEnd:
    """ipywidgets 8.1's view of one slider in the browser (FloatSlider, IntSlider, FloatLogSlider).

    It receives the kernel's state messages in order, as the browser does. The model takes a
    message's attributes at once, then fires one event per changed attribute, in the
    message's key order. The view's slider (noUiSlider) keeps options of its own: on ``min``,
    ``max`` or ``step`` it takes the model's range and step and re-places the handle at the
    model's value (``updateOptions``); on ``value`` it places the handle with the options it
    has at that moment (``set``), stale if the new step is still to come. A handle whose value
    differs from the model's is written back and reported (``handleSliderChanged``), and
    ``update`` clamps the value into [min, max]. The reports queue in :attr:`echoes` until
    :meth:`deliver` hands them to the kernel, later, as the comm would. This is how a
    slider the kernel moves can move itself again: the bugs of issue 8 (a lost preset start,
    two or three renders per press) are reproduced with it.
    """

    def __init__(self, control):
        self.control = control
        self.log = hasattr(control, "base")
        self.integer = not self.log and isinstance(control.value, int)
        self.model = dict(control.get_state(["min", "max", "step", "value"]))
        self.options = (self.model["min"], self.model["max"], self.model["step"])  # the slider's own
        self.echoes: list = []
        self.messages: list[dict] = []
        old = control.comm
        control.comm = _FrontEndComm(self, getattr(old, "comm_id", None))

    def _handle(self) -> float:
        lo, hi, step = self.options
        target = math.log(self.model["value"], self.control.base) if self.log else self.model["value"]
        if self.log:
            target = min(max(target, lo), hi)
        handle = nouislider_handle(target, lo, hi, step)
        return js_round(handle) if self.integer else handle

    def _report(self) -> None:
        """``handleSliderChanged`` after noUiSlider's "update" event (continuous_update is on)."""
        handle = self._handle()
        value = self.control.base ** handle if self.log else handle
        if value != self.model["value"]:
            self.model["value"] = value
            self.echoes.append(value)

    def receive(self, state: dict) -> None:
        self.messages.append(dict(state))
        changed = [k for k in state if k in self.model and self.model[k] != state[k]]
        self.model.update({k: state[k] for k in changed})
        for key in changed:  # every attribute is set first, then one event per attribute, in order
            if key in ("min", "max", "step"):
                self.options = (self.model["min"], self.model["max"], self.model["step"])
            self._report()
        if changed and not self.log:  # the view's update(): the value clamped into [min, max]
            m = self.model
            clamped = min(max(m["value"], m["min"]), m["max"])
            if clamped != m["value"]:
                m["value"] = clamped
                self.echoes.append(clamped)

    def deliver(self) -> int:
        """Hand the queued reports to the kernel (as its comm would); returns how many there were."""
        echoes, self.echoes = self.echoes, []
        for value in echoes:
            self.control.set_state({"value": value})
        return len(echoes)


class _FrontEndComm:
    """A comm whose messages from the kernel go to a :class:`SliderFrontEnd` instead of a browser."""

    kernel = True  # ipywidgets sends state only over a comm with a kernel

    def __init__(self, front_end: SliderFrontEnd, comm_id):
        self.front_end, self.comm_id = front_end, comm_id or secrets.token_hex(16)

    def send(self, data=None, buffers=None, **_):
        if data and data.get("method") == "update":
            self.front_end.receive(data["state"])

    def on_msg(self, callback):
        pass

    def close(self, *_, **__):
        pass


def settle(front_ends, rounds: int = 10) -> int:
    """Deliver reports until none are left (each may make the kernel send more); returns their number."""
    total = 0
    for _ in range(rounds):
        delivered = sum(f.deliver() for f in front_ends)
        total += delivered
        if not delivered:
            return total
    raise AssertionError(f"the sliders still echo after {rounds} rounds")


# -- checks on a widget's box in the page ------------------------------------------------------
# Labels whose text does not fit their box (the browser cuts them to "compone…").
CUT_LABELS_JS = """e => [...e.querySelectorAll('.widget-label')]
    .filter(l => l.offsetParent !== null && l.scrollWidth > l.clientWidth + 0.5)
    .map(l => `${l.textContent.trim()} (${l.scrollWidth} > ${l.clientWidth} px)`)"""


def cut_labels(box) -> list[str]:
    """The labels in ``box`` that the browser shows cut off (empty when every one fits)."""
    return box.evaluate(CUT_LABELS_JS)


# Count the figure's re-renders: every new PNG is a new src on the <img>.
COUNT_RENDERS_JS = """img => { window.__courseRenders = 0;
    new MutationObserver(() => { window.__courseRenders += 1; })
        .observe(img, {attributes: true, attributeFilter: ['src']}); }"""


def count_renders(image) -> None:
    """Start counting the src changes of ``image`` (read them with :func:`renders_counted`)."""
    image.evaluate(COUNT_RENDERS_JS)


def renders_counted(page) -> int:
    return page.evaluate("() => window.__courseRenders")


# How far the figure reaches past its output area (positive: the browser cuts it off).
OVERFLOW_JS = """img => { const area = img.closest('.jp-OutputArea-output').getBoundingClientRect();
    const box = img.closest('.jupyter-widget-box, .widget-box');
    return Math.max(img.getBoundingClientRect().right - area.right, box.scrollWidth - box.clientWidth); }"""


def figure_overflow(image) -> float:
    """Pixels of ``image`` (a widget's figure) beyond its output area: 0 when it is shown whole."""
    return image.evaluate(OVERFLOW_JS)
