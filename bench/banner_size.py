"""How big is the personvern banner, next to the open-source banners a shop could use?

Installs vanilla-cookieconsent, Osano's cookieconsent, Klaro and tarteaucitron from the
npm registry into a temporary folder (``npm install --ignore-scripts``), then prints one
table: for each, the files a page loads, their raw size, and gzip -9 (GNU gzip ``-9 -n``,
each file compressed separately, since each is a separate response) and brotli where the
``brotli`` module is installed. Ours is measured as served: the bytes of
``GET /consent/banner.js`` and ``/consent/banner.css`` (texts and configuration, served
separately as ``/consent/config.json``, not counted; the same holds for
vanilla-cookieconsent, which ships no texts).

    .venv/bin/python bench/banner_size.py [--keep DIR]

Needs ``npm`` and the npm registry. The budget: JS + CSS at most 5,000 bytes gzip -9.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from personvern.consent.assets import asset

BUDGET = 5000

# package → (what the page loads, the files, relative to node_modules/<package>)
DEPLOYMENTS: list[tuple[str, str, list[str]]] = [
    (
        "vanilla-cookieconsent",
        "dist/cookieconsent.umd.js + dist/cookieconsent.css (no texts)",
        ["dist/cookieconsent.umd.js", "dist/cookieconsent.css"],
    ),
    (
        "cookieconsent",
        "build/cookieconsent.min.js + .min.css (Osano; no categories)",
        ["build/cookieconsent.min.js", "build/cookieconsent.min.css"],
    ),
    ("klaro", "dist/klaro.js (JS + CSS + translations)", ["dist/klaro.js"]),
    (
        "klaro",
        "dist/klaro-no-css.js + dist/klaro.min.css",
        ["dist/klaro-no-css.js", "dist/klaro.min.css"],
    ),
    (
        "tarteaucitronjs",
        "tarteaucitron.min.js + lang no + css (useExternalJs)",
        [
            "tarteaucitron.min.js",
            "lang/tarteaucitron.no.min.js",
            "css/tarteaucitron.min.css",
        ],
    ),
]


def gzip9(data: bytes) -> int:
    """Size after GNU ``gzip -9 -n`` (Python's gzip at level 9 if the tool is missing)."""
    tool = shutil.which("gzip")
    if tool:
        out = subprocess.run(  # noqa: S603  # the gzip found on PATH, fixed arguments
            [tool, "-9", "-n", "-c"], input=data, capture_output=True, check=True
        )
        return len(out.stdout)
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def brotli11(data: bytes) -> int | None:
    try:
        import brotli  # type: ignore[import-not-found]  # optional, only for this column
    except ImportError:
        return None
    return len(brotli.compress(data, quality=11))


def install(folder: Path) -> dict[str, str]:
    packages = sorted({name for name, _, _ in DEPLOYMENTS})
    (folder / "package.json").write_text('{"private": true}')
    npm = ["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--silent"]
    # npm from PATH, as a developer runs it, with fixed package names.
    subprocess.run([*npm, *packages], cwd=folder, check=True)  # noqa: S603
    versions = {}
    for name in packages:
        meta = json.loads((folder / "node_modules" / name / "package.json").read_text())
        versions[name] = str(meta["version"])
    return versions


def row(label: str, version: str, what: str, files: list[bytes]) -> list[str]:
    raw = sum(len(f) for f in files)
    gz = sum(gzip9(f) for f in files)
    br = [brotli11(f) for f in files]
    brs = f"{sum(b for b in br if b is not None):,}" if all(b is not None for b in br) else "–"
    return [label, version, what, str(len(files)), f"{raw:,}", f"{gz:,}", brs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="install into this folder and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="banner-size-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        versions = install(folder)
        ours = [asset("banner.js").body, asset("banner.css").body]
        from personvern import __version__

        rows = [row("personvern", __version__, "banner.js + banner.css as served", ours)]
        for name, what, paths in DEPLOYMENTS:
            files = [(folder / "node_modules" / name / p).read_bytes() for p in paths]
            rows.append(row(name, versions[name], what, files))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    header = ["Banner", "Version", "What the page loads", "Files", "Raw", "gzip -9", "brotli 11"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] * 3 + ["---:"] * 4) + "|")
    for cells in rows:
        print("| " + " | ".join(cells) + " |")
    ours_gz = sum(gzip9(b) for b in ours)
    verdict = "within" if ours_gz <= BUDGET else "OVER"
    print(f"\npersonvern: {ours_gz:,} bytes gzip -9 for JS + CSS, {verdict} the {BUDGET:,} budget")
    return 0 if ours_gz <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
