"""The summary's histogram of the best candidates' log10 LRs, as inline SVG."""

from __future__ import annotations

import math
from html import escape

from reunion.report.format import lr_text
from reunion.report.review import CATEGORIES, CATEGORY_COLORS, ReviewSettings, log10_of


def _nice_ticks(top: int) -> list[int]:
    """0, step, 2*step, ... up to the first multiple of step >= top (step 1, 2 or 5 x 10^k)."""
    top = max(int(top), 1)
    for k in range(0, 12):
        for m in (1, 2, 5):
            step = m * 10 ** k
            if math.ceil(top / step) <= 5:
                return [step * i for i in range(math.ceil(top / step) + 1)]
    return [0, top]


def histogram_svg(rank1: list[dict], settings: ReviewSettings, width: int = 640,
                  height: int = 230) -> str:
    """Stacked histogram (by category) of the rank-1 log10 LRs, as inline SVG."""
    vals = [(log10_of(c), c["category"]) for c in rank1]
    finite = [v for v, _ in vals if math.isfinite(v)]
    n_zero = sum(1 for v, _ in vals if v == -math.inf)
    if not finite:
        return (f'<p class="muted">No rank-1 candidate with a finite LR'
                f'{f" ({n_zero} with LR 0)" if n_zero else ""}.</p>')
    lo = math.floor(min(finite + [0.0]))
    hi = max(math.floor(max(finite)) + 1, math.ceil(math.log10(settings.strong_lr)) + 1, lo + 1)
    step = max(1, math.ceil((hi - lo) / 40))
    nb = math.ceil((hi - lo) / step)
    counts = [dict.fromkeys(CATEGORIES, 0) for _ in range(nb)]
    for v, cat in vals:
        if math.isfinite(v):
            counts[min(nb - 1, int((v - lo) // step))][cat] += 1
    top = _nice_ticks(max(sum(b.values()) for b in counts))[-1]
    ml, mr, mt, mb = 44, 12, 12, 40
    pw, ph = width - ml - mr, height - mt - mb
    bw = pw / nb

    def x(v: float) -> float:
        return ml + (v - lo) / (nb * step) * pw

    def y(n: float) -> float:
        return mt + ph - n / top * ph

    parts = [f'<svg class="hist" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Histogram of the best candidate\'s log10 LR per missing person">']
    for t in _nice_ticks(top):
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
                     'class="grid"/><text x="{0}" y="{1:.1f}" class="tick" text-anchor="end">'
                     '{2}</text>'.format(ml - 5, y(t) + 4, t))
    for i, b in enumerate(counts):
        base = 0
        for cat in reversed(CATEGORIES):          # weak at the bottom
            n = b[cat]
            if not n:
                continue
            parts.append(
                f'<rect x="{ml + i * bw + 1:.1f}" y="{y(base + n):.1f}" width="{max(bw - 2, 1):.1f}" '
                f'height="{y(base) - y(base + n):.1f}" fill="{CATEGORY_COLORS[cat]}">'
                f'<title>log10 LR {lo + i * step} to {lo + (i + 1) * step}: {n} {cat}</title></rect>')
            base += n
    label_every = max(1, math.ceil(nb / 16))
    for i in range(0, nb + 1, label_every):
        v = lo + i * step
        parts.append(f'<text x="{x(v):.1f}" y="{mt + ph + 15}" class="tick" '
                     f'text-anchor="middle">{v}</text>')
    for thr, dx, anchor in ((settings.inconclusive_low, -3, "end"), (settings.strong_lr, 3, "start")):
        tx = x(math.log10(thr))
        parts.append(f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{mt}" y2="{mt + ph}" class="thr"/>'
                     f'<text x="{tx + dx:.1f}" y="{mt + 9}" class="thr-label" text-anchor="{anchor}">'
                     f'{escape(lr_text(thr))}</text>')
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    parts.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 6}" class="axis-label" '
                 'text-anchor="middle">log10 LR of the best candidate</text>')
    parts.append(f'<text x="12" y="{mt + ph / 2:.1f}" class="axis-label" text-anchor="middle" '
                 f'transform="rotate(-90 12 {mt + ph / 2:.1f})">missing persons</text>')
    parts.append("</svg>")
    if n_zero:
        parts.append(f'<p class="muted">{n_zero} best candidates with LR 0 not drawn.</p>')
    return "".join(parts)


#: line colours of the chance-match curves, one per family kind (the total is drawn black)
CURVE_COLORS = ("#0969da", "#d4901c", "#1a7f37", "#8250df", "#cf222e", "#57606a", "#bf3989", "#116329")


def chance_curve_svg(x: list[float], curves: dict[str, list[float]], strong_lr: float,
                     width: int = 640, height: int = 260, floor: float = 1e-4) -> str:
    """Expected chance matches in the searched database (log scale) against the log10 LR
    threshold, as inline SVG: one line per family kind in ``curves`` (name -> values at the
    log10 LRs ``x``, float), and their sum ('all families') in black. The dashed lines mark
    one expected chance match and ``strong_lr``; values below ``floor`` are drawn at it."""
    if not curves or not x:
        return '<p class="muted">No calibrated family.</p>'
    total = [sum(c[i] for c in curves.values()) for i in range(len(x))]
    top = max(max(total), 10.0)
    ylo, yhi = math.log10(floor), math.ceil(math.log10(top))
    ml, mr, mt, mb = 52, 150, 12, 40
    pw, ph = width - ml - mr, height - mt - mb
    x0, x1 = x[0], x[-1]

    def px(v: float) -> float:
        return ml + (v - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        lv = math.log10(v) if v > floor else ylo
        return mt + ph - (lv - ylo) / (yhi - ylo) * ph

    parts = [f'<svg class="chance" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="Expected chance matches in this database against the LR threshold">']
    for e in range(int(ylo), int(yhi) + 1):
        yy = mt + ph - (e - ylo) / (yhi - ylo) * ph
        parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>'
                     f'<text x="{ml - 5}" y="{yy + 4:.1f}" class="tick" text-anchor="end">'
                     f'{escape(_decade(e))}</text>')
    step = 2 if x1 - x0 > 10 else 1
    v = math.ceil(x0)
    while v <= x1 + 1e-9:
        parts.append(f'<text x="{px(v):.1f}" y="{mt + ph + 15}" class="tick" text-anchor="middle">'
                     f'{v:g}</text>')
        v += step
    one = py(1.0)
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{one:.1f}" y2="{one:.1f}" class="thr"/>'
                 f'<text x="{ml + pw - 3}" y="{one - 3:.1f}" class="thr-label" text-anchor="end">'
                 'one chance match</text>')
    ls = math.log10(strong_lr)
    if x0 <= ls <= x1:
        parts.append(f'<line x1="{px(ls):.1f}" x2="{px(ls):.1f}" y1="{mt}" y2="{mt + ph}" class="thr"/>'
                     f'<text x="{px(ls) + 3:.1f}" y="{mt + 9}" class="thr-label">'
                     f'{escape(lr_text(strong_lr))}</text>')
    series = [(k, CURVE_COLORS[i % len(CURVE_COLORS)], v) for i, (k, v) in enumerate(curves.items())]
    series.append(("all families", "#24292f", total))
    for i, (name, color, ys) in enumerate(series):
        pts = " ".join(f"{px(a):.1f},{py(b):.1f}" for a, b in zip(x, ys))
        width_px = 2.2 if name == "all families" else 1.5
        parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="{width_px}">'
                     f'<title>{escape(name)}</title></polyline>')
        ly = mt + 10 + 15 * i
        parts.append(f'<line x1="{ml + pw + 10}" x2="{ml + pw + 26}" y1="{ly - 4}" y2="{ly - 4}" '
                     f'stroke="{color}" stroke-width="{width_px}"/>'
                     f'<text x="{ml + pw + 30}" y="{ly}" class="tick">{escape(name)}</text>')
    parts.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{mt + ph}" y2="{mt + ph}" class="axis"/>')
    parts.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 6}" class="axis-label" '
                 'text-anchor="middle">log10 LR threshold</text>')
    parts.append(f'<text x="12" y="{mt + ph / 2:.1f}" class="axis-label" text-anchor="middle" '
                 f'transform="rotate(-90 12 {mt + ph / 2:.1f})">expected chance matches</text>')
    parts.append("</svg>")
    return "".join(parts)


def _decade(e: int) -> str:
    """10^e as a tick label: 0.001, 0.01, 0.1, 1, 10, 100, then 10⁴."""
    if -3 <= e <= 3:
        return f"{10.0 ** e:g}"
    return "10" + str(e).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
