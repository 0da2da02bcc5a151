"""What a reader sees at the border of a figure file: ink within a few pixels of a PNG's edge is a
figure cut off (a title ending at "p =", a step curve running out of the canvas)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def ink_at_edge(png: str | Path, margin: int = 2) -> dict[str, int]:
    """Pixels other than the background within ``margin`` pixels of each edge, by side ({} when the
    border is clear). The background is the commonest colour of the outermost ring of pixels."""
    image = np.asarray(Image.open(png).convert("RGBA"))
    ring = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    colours, counts = np.unique(ring.reshape(-1, 4), axis=0, return_counts=True)
    background = colours[np.argmax(counts)]
    ink = np.any(image != background, axis=-1)
    sides = {"top": ink[:margin], "bottom": ink[-margin:], "left": ink[:, :margin], "right": ink[:, -margin:]}
    return {side: int(strip.sum()) for side, strip in sides.items() if strip.any()}


def clipped_figures(folder: str | Path, margin: int = 2) -> dict[str, dict[str, int]]:
    """Every PNG of ``folder`` with ink at its edge: {file name: {side: pixels}}."""
    pngs = sorted(Path(folder).glob("*.png"))
    assert pngs, f"no PNG in {folder}"
    return {p.name: hits for p in pngs if (hits := ink_at_edge(p, margin))}
