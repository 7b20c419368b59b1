"""The inspection report as PDF (``wardwatch report --format pdf``): the web page (``html``)
printed by headless Chromium, whose print CSS lays out the A4 pages. Chromium, not a Python
PDF library: the page and the PDF then come from one layout, and Debian ships Chromium with
the fonts (fonts-dejavu-core) every Vietnamese diacritic needs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
"""Looked for on PATH, in this order: Debian's name, Ubuntu's older one, Google's build."""
INSTALL = "apt-get install -y chromium"


class PdfError(RuntimeError):
    """The PDF could not be made; the message says why and, where it can, what fixes it."""


def find_browser() -> str:
    """The path of the first Chromium-like browser on PATH."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(f"no Chromium to print the PDF ({', '.join(BROWSERS)} not on PATH): {INSTALL}")


def print_pdf(html: str, out: Path, timeout_s: float = 120) -> None:
    """Print ``html`` to the PDF file ``out`` with headless Chromium. ``out`` appears whole or
    not at all: Chromium writes a temporary file beside it, renamed once it holds a PDF."""
    browser = find_browser()
    out = out.resolve()
    if not out.parent.is_dir():
        raise PdfError(f"cannot write {out}: {out.parent} is not a directory")
    with tempfile.TemporaryDirectory(prefix="wardwatch-pdf-") as scratch:
        page = Path(scratch) / "report.html"
        page.write_text(html, encoding="utf-8")
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        os.close(handle)
        partial = Path(name)
        try:
            partial.unlink()  # so that "no file" after the run means Chromium wrote none
            command = [
                browser,
                "--headless",
                "--no-sandbox",  # Chromium's sandbox refuses to run as root
                "--disable-gpu",
                "--disable-dev-shm-usage",  # a container's /dev/shm can be too small
                "--no-pdf-header-footer",
                f"--user-data-dir={Path(scratch) / 'profile'}",
                f"--print-to-pdf={partial}",
                page.as_uri(),
            ]
            _check(partial, _run(command, timeout_s))
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)


def _run(command: list[str], timeout_s: float) -> str:
    """Run Chromium in its own process group (on a timeout, its renderer and GPU children
    are ended with it, not left behind); what it wrote on stderr."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    try:
        _, stderr = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        raise PdfError(
            f"{command[0]} did not print the PDF within {timeout_s:g} s{_last(stderr)}"
        ) from None
    if process.returncode != 0:
        raise PdfError(
            f"{command[0]} failed to print the PDF (exit {process.returncode}){_last(stderr)}"
        )
    return stderr


def _check(pdf: Path, stderr: str) -> None:
    """Chromium can exit 0 without writing (an unreadable page, a full disk)."""
    if not pdf.is_file() or pdf.stat().st_size == 0:
        raise PdfError(f"Chromium wrote no PDF{_last(stderr)}")
    with pdf.open("rb") as head:
        if head.read(5) != b"%PDF-":
            raise PdfError(f"Chromium wrote {pdf.name}, but it is not a PDF")


def _last(stderr: str) -> str:
    """The last non-blank line Chromium wrote, as ": <line>" ("" when it wrote none)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return f": {lines[-1]}" if lines else ""
