"""Copy KaTeX's browser files from the npm registry's `katex` package into docs/assets/katex/.

The site renders math in the reader's browser with these files, served from the site
itself: no CDN, nothing fetched when a page is read. Run this to move to another KaTeX
release (needs `npm`); commit what it writes.

    python scripts/vendor_katex.py [VERSION]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.16.47"
DEST = Path(__file__).resolve().parents[1] / "docs" / "assets" / "katex"


def main(version: str = VERSION) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"katex@{version}", "--silent"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        (tgz,) = Path(tmp).glob("katex-*.tgz")
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        dist = Path(tmp) / "package" / "dist"
        if DEST.exists():
            shutil.rmtree(DEST)
        (DEST / "fonts").mkdir(parents=True)
        shutil.copy(dist / "katex.min.js", DEST / "katex.min.js")
        shutil.copy(Path(tmp) / "package" / "LICENSE", DEST / "LICENSE")
        # every browser the site supports reads woff2: ship only those fonts, and let the
        # style sheet name only them (no request for a font file that is not there)
        css = (dist / "katex.min.css").read_text(encoding="utf-8")
        css = re.sub(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)', "", css)
        (DEST / "katex.min.css").write_text(css, encoding="utf-8")
        for font in sorted((dist / "fonts").glob("*.woff2")):
            shutil.copy(font, DEST / "fonts" / font.name)
        (DEST / "VERSION").write_text(f"katex {version} (npm)\n", encoding="utf-8")
    print(f"KaTeX {version} -> {DEST}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
