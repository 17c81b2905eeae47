"""Headless Chromium for the report tests, driven directly by subprocess.

No Playwright or Selenium: the system Chromium dumps the DOM after the page's
scripts ran (``--dump-dom``) or writes a PNG (``--screenshot``). The session
fixture :func:`chromium` finds the browser (``$REUNION_CHROMIUM``, then
``/usr/bin/chromium`` and the usual names on PATH); when none is found it may
``apt-get install -y chromium`` -- only as root, with apt-get present, and when
``REUNION_INSTALL_CHROMIUM=1`` or ``CI`` is set (``REUNION_INSTALL_CHROMIUM=0``
forbids it), time-bounded -- and otherwise skips with the reason.

:class:`Dom` is a small tree over the dumped HTML (stdlib ``html.parser``)
so tests can assert on elements, attributes and text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest

CANDIDATE_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars")
RUN_TIMEOUT_S = 90
APT_UPDATE_TIMEOUT_S = 240
APT_INSTALL_TIMEOUT_S = 480


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary that answers --version, or None."""
    cands = [os.environ.get("REUNION_CHROMIUM"), "/usr/bin/chromium"]
    cands += [shutil.which(n) for n in CANDIDATE_NAMES]
    for c in cands:
        if c and Path(c).is_file() and os.access(c, os.X_OK) and _works(c):
            return c
    return None


def _works(exe: str) -> bool:
    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and ("chrom" in r.stdout.lower() or "chrome" in r.stdout.lower())


def may_install() -> tuple[bool, str]:
    """Whether the tests may apt-get install chromium here, and why not."""
    flag = os.environ.get("REUNION_INSTALL_CHROMIUM", "").strip().lower()
    if flag in ("0", "no", "false"):
        return False, "REUNION_INSTALL_CHROMIUM=0 forbids installing it"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return False, "installing it needs root (apt-get install -y chromium)"
    if not shutil.which("apt-get"):
        return False, "no apt-get on this machine to install it"
    if flag in ("1", "yes", "true") or os.environ.get("CI"):
        return True, ""
    return False, ("set REUNION_INSTALL_CHROMIUM=1 (or run under CI) to let the tests run "
                   "'apt-get install -y chromium', or install it yourself")


def install_chromium() -> tuple[str | None, str]:
    """apt-get update + install chromium (time-bounded); (path or None, why not)."""
    ok, why = may_install()
    if not ok:
        return None, why
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, env=env,
                       timeout=APT_UPDATE_TIMEOUT_S)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True,
                       env=env, timeout=APT_INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        return None, f"'{' '.join(exc.cmd)}' took more than {exc.timeout} s"
    except (OSError, subprocess.CalledProcessError) as exc:
        tail = (getattr(exc, "stderr", b"") or b"")[-400:].decode(errors="replace")
        return None, f"apt-get install chromium failed: {exc} {tail}"
    exe = find_chromium()
    return exe, "" if exe else "apt-get installed chromium but no working binary was found"


class Chromium:
    """One headless browser binary; each call runs a fresh process and profile."""

    def __init__(self, exe: str, workdir: Path):
        self.exe = exe
        self.workdir = Path(workdir)

    def _run(self, args: list[str]) -> subprocess.CompletedProcess:
        profile = tempfile.mkdtemp(prefix="profile-", dir=self.workdir)
        try:
            r = subprocess.run([self.exe, *FLAGS, f"--user-data-dir={profile}", *args],
                               capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if r.returncode != 0:
            raise RuntimeError(f"chromium exited {r.returncode}: {r.stderr[-2000:]}")
        return r

    def dump_dom(self, url: str) -> str:
        """The serialised DOM after the page loaded and its scripts ran."""
        return self._run(["--dump-dom", url]).stdout

    def screenshot(self, url: str, png: Path, size: tuple[int, int] = (1400, 1000)) -> Path:
        png = Path(png)
        self._run([f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", url])
        return png


@pytest.fixture(scope="session")
def chromium(tmp_path_factory) -> Chromium:
    exe = find_chromium()
    if exe is None:
        exe, why = install_chromium()
        if exe is None:
            pytest.skip(f"headless Chromium not available: {why}")
    return Chromium(exe, tmp_path_factory.mktemp("chromium"))


def file_url(path: Path, suffix: str = "") -> str:
    """file:// URL of ``path`` plus a query/hash suffix ('#sort=lr-asc', '?open=M1')."""
    return Path(path).resolve().as_uri() + suffix


# --------------------------------------------------------------------------- DOM
class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Node | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list["Node | str"] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str | bool) -> list["Node"]:
        """Descendants (and self) with ``tag`` and attributes (True = present; class_ for class)."""
        out = []
        for n in self.iter():
            if tag and n.tag != tag:
                continue
            ok = True
            for k, v in attrs.items():
                k = k.rstrip("_").replace("_", "-")
                if v is True:
                    ok = k in n.attrs
                elif k == "class":
                    ok = v in (n.attrs.get("class") or "").split()
                else:
                    ok = n.attrs.get(k) == v
                if not ok:
                    break
            if ok:
                out.append(n)
        return out

    def find(self, tag: str | None = None, **attrs) -> "Node | None":
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, id_: str) -> "Node | None":
        return next((n for n in self.iter() if n.attrs.get("id") == id_), None)

    def has(self, attr: str) -> bool:
        return attr in self.attrs


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, dict(attrs), self.cur)
        self.cur.children.append(n)
        if tag not in _VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, dict(attrs), self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def Dom(html_text: str) -> Node:
    """Parse serialised HTML into a :class:`Node` tree."""
    b = _Builder()
    b.feed(html_text)
    b.close()
    return b.root
