"""Synthetic thin blood smears as a DPC microscope sees them, with known masks.

Shared by train_synthetic.py (training and held-out images),
make_sample_data.py (the raw sensor dump in ../examples/data/) and the tests.
Needs numpy only; every function draws its randomness from the
numpy.random.Generator it is given, so a seed fixes every pixel.

The model of the image, matched by eye and by measurement to the real
1024x1024 Octopi image (../shared/data/octopi_dpc_rbc_1024.png: red cells
about 20-30 px across, a dark rim on the left and a bright rim on the right
of each cell, about +-20 grey levels on a flat background, a faint opposite
relief inside from the central pallor, pixel noise of a few grey levels):

- red blood cells are elliptical discs (semi-axes a, b, a random
  orientation); some touch and some overlap; the mask is the union of the
  discs (normalised elliptical radius rho <= 1);
- each cell adds an optical phase (thickness) profile: a soft-edged disc
  (half height at rho = 1) with a central pallor dip (biconcave cells),
  `amp * edge(rho) * (1 - pallor * exp(-(rho / 0.5)^2))` with pallor mostly
  0..0.25 (0.35..0.6 for one cell in eight); overlapping cells add their
  phase;
- the DPC signal with the illumination split into left and right halves is,
  to first order, the phase gradient along x seen through the objective's
  blur: `u = -gain * d/dx (G_sigma * phase)`, and the DPC image is
  `0.5 + u` (the left rim dark, the right rim bright, like a shaded emboss);
- debris (platelets, dust) adds small phase blobs outside the mask.

`render_dpc` returns the noise-free DPC image (float, background 0.5 plus a
slight gradient) and the mask. Noise, contrast and the 8-bit quantisation are
the caller's: training adds Gaussian noise to 8-bit values, the sample data
renders the two raw frames with shot noise (make_sample_data.py).
"""

import numpy as np

PAD = 24  # canvas margin: cells cut by the image border, and no FFT wrap-around


def place_cells(rng, height, width, coverage, diameter, diameter_sd, overlap_fraction,
                margin=PAD):
    """Random cell ellipses on a (height + 2 margin) x (width + 2 margin) canvas.

    Cells are added at random until about `coverage` of the canvas is covered
    (or the tries run out), none closer than touching; then
    `overlap_fraction` times as many again are added that may overlap the
    others by up to about a third of their radius. Returns a dict of float arrays:
    cy, cx (canvas coordinates), a, b (semi-axes, px), theta (radians),
    amp (relative phase amplitude), pallor (0..0.8).
    """
    h, w = height + 2 * margin, width + 2 * margin
    target = coverage * h * w
    cells = {k: [] for k in ("cy", "cx", "a", "b", "theta", "amp", "pallor")}
    state = {"covered": 0.0, "cy": np.zeros(0), "cx": np.zeros(0), "r": np.zeros(0)}

    def attempt(low, high):
        d = float(np.clip(rng.normal(diameter, diameter_sd), 0.6 * diameter, 1.5 * diameter))
        aspect = 1.0 + abs(rng.normal(0.0, 0.08))
        a = d / 2.0 * np.sqrt(aspect)
        b = d / 2.0 / np.sqrt(aspect)
        cy = rng.uniform(0, h)
        cx = rng.uniform(0, w)
        factor = rng.uniform(low, high)
        if state["r"].size:
            dist = np.hypot(state["cy"] - cy, state["cx"] - cx)
            if np.any(dist < factor * (state["r"] + b)):
                return False
        theta = rng.uniform(0, np.pi)
        strong = rng.random() < 0.12
        pallor = rng.uniform(0.35, 0.6) if strong else rng.uniform(0.0, 0.25)
        amp = float(np.clip(rng.normal(1.0, 0.12), 0.7, 1.3))
        for key, value in (("cy", cy), ("cx", cx), ("a", a), ("b", b), ("theta", theta),
                           ("amp", amp), ("pallor", pallor)):
            cells[key].append(value)
        state["cy"] = np.append(state["cy"], cy)
        state["cx"] = np.append(state["cx"], cx)
        state["r"] = np.append(state["r"], b)
        state["covered"] += np.pi * a * b
        return True

    # first cells that at most touch, until the coverage is reached ...
    tries = 0
    max_tries = int(60 * target / (np.pi * (diameter / 2.0) ** 2)) + 200
    while state["covered"] < target and tries < max_tries:
        tries += 1
        attempt(1.0, 1.12)
    # ... then a few that overlap their neighbours
    wanted = int(round(overlap_fraction * len(cells["cy"])))
    placed = tries = 0
    while placed < wanted and tries < 50 * wanted + 50:
        tries += 1
        placed += attempt(0.62, 0.85)
    return {k: np.asarray(v, dtype=np.float64) for k, v in cells.items()}


def render_phase(cells, height, width, edge_px=1.0, margin=PAD):
    """(phase, mask) on the canvas: the summed cell phase profiles and the
    union of the discs (rho <= 1). Each cell is drawn in its bounding box."""
    h, w = height + 2 * margin, width + 2 * margin
    phase = np.zeros((h, w))
    mask = np.zeros((h, w), dtype=bool)
    for cy, cx, a, b, theta, amp, pallor in zip(
            cells["cy"], cells["cx"], cells["a"], cells["b"], cells["theta"], cells["amp"],
            cells["pallor"]):
        reach = a + 4.0 * edge_px + 1.0
        y0, y1 = max(int(cy - reach), 0), min(int(cy + reach) + 2, h)
        x0, x1 = max(int(cx - reach), 0), min(int(cx + reach) + 2, w)
        if y0 >= y1 or x0 >= x1:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
        dy, dx = yy - cy, xx - cx
        c, s = np.cos(theta), np.sin(theta)
        u = (dx * c + dy * s) / a
        v = (-dx * s + dy * c) / b
        rho = np.sqrt(u * u + v * v)
        # distance to the rim in pixels, roughly: (rho - 1) times the local radius
        radius = np.sqrt(a * b)
        edge = 0.5 * (1.0 - np.tanh((rho - 1.0) * radius / (2.0 * edge_px)))
        profile = edge * (1.0 - pallor * np.exp(-(rho / 0.5) ** 2))
        phase[y0:y1, x0:x1] += amp * profile
        mask[y0:y1, x0:x1] |= rho <= 1.0
    return phase, mask


def add_debris(rng, phase, count):
    """Small phase blobs (platelets, dust): sigma 0.8-2.5 px, either sign."""
    h, w = phase.shape
    for _ in range(count):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        sigma = rng.uniform(0.8, 2.5)
        amp = rng.uniform(0.15, 0.6) * (1 if rng.random() < 0.8 else -1)
        r = int(4 * sigma) + 1
        y0, y1 = max(int(cy) - r, 0), min(int(cy) + r + 1, h)
        x0, x1 = max(int(cx) - r, 0), min(int(cx) + r + 1, w)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        phase[y0:y1, x0:x1] += amp * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2)
                                            / (2 * sigma * sigma))


def dpc_signal(phase, blur_sigma, axis_angle=0.0):
    """Minus the derivative of the phase blurred by a Gaussian of `blur_sigma`
    px along the illumination axis: x, turned by `axis_angle` radians towards
    +y (FFT, exact derivative of the Gaussian-filtered image). Periodic: keep
    a margin."""
    h, w = phase.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    along = np.cos(axis_angle) * fx + np.sin(axis_angle) * fy
    transfer = -2j * np.pi * along * np.exp(-2.0 * (np.pi * blur_sigma) ** 2 * (fx * fx + fy * fy))
    return np.fft.irfft2(np.fft.rfft2(phase) * transfer, s=(h, w))


def render_dpc(rng, height, width, coverage=0.38, diameter=26.0, diameter_sd=2.6,
               overlap_fraction=0.08, blur_sigma=1.2, relief=0.11, debris=None,
               gradient=0.01, edge_px=1.0, axis_angle=0.0):
    """(dpc, mask, cells): a noise-free DPC image (float64, background about
    0.5) of height x width and its boolean cell mask.

    relief: the DPC amplitude of the steepest rims (the 99.5th percentile of
    |dpc - 0.5| near cells is scaled to it); gradient: a linear background
    ramp of this peak-to-peak size in a random direction; debris: count of
    phase blobs (default: about one per 4000 px); axis_angle: the
    illumination axis, radians from x towards +y (0: left/right halves).
    """
    cells = place_cells(rng, height, width, coverage, diameter, diameter_sd, overlap_fraction)
    phase, mask = render_phase(cells, height, width, edge_px)
    if debris is None:
        debris = int(rng.poisson(height * width / 4000.0))
    add_debris(rng, phase, debris)
    u = dpc_signal(phase, blur_sigma, axis_angle)
    crop = (slice(PAD, PAD + height), slice(PAD, PAD + width))
    u, mask = u[crop], mask[crop]
    # scale so that a typical isolated-cell rim reaches `relief`: normalise by
    # the rim response of one ideal cell of the mean size (independent of density)
    ref = _rim_peak(diameter, blur_sigma, edge_px)
    u = u * (relief / ref)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    ramp = (np.cos(angle) * (xx / max(width - 1, 1) - 0.5)
            + np.sin(angle) * (yy / max(height - 1, 1) - 0.5))
    dpc = 0.5 + u + gradient * ramp
    return dpc, mask, cells


_RIM_CACHE = {}


def _rim_peak(diameter, blur_sigma, edge_px):
    """Peak |DPC signal| of one round cell without pallor (the relief unit)."""
    key = (round(diameter, 3), round(blur_sigma, 3), round(edge_px, 3))
    if key not in _RIM_CACHE:
        n = int(diameter * 2) + 2 * PAD
        n += n % 2
        r = diameter / 2.0
        cells = {"cy": np.array([n / 2.0]), "cx": np.array([n / 2.0]),
                 "a": np.array([r]), "b": np.array([r]), "theta": np.zeros(1),
                 "amp": np.ones(1), "pallor": np.zeros(1)}
        phase, _ = render_phase(cells, n - 2 * PAD, n - 2 * PAD, edge_px)
        _RIM_CACHE[key] = float(np.abs(dpc_signal(phase, blur_sigma)).max())
    return _RIM_CACHE[key]


def to_u8(image):
    """Rounds a [0, 1] float image to 8-bit grey (clipped)."""
    return np.clip(np.rint(np.asarray(image) * 255.0), 0, 255).astype(np.uint8)


def relief_energy(dpc, smooth=0):
    """Where a DPC image has cell relief: the squared x-difference (over 2 px)
    of the image box-filtered over (2 smooth + 1)^2 px to average the noise
    down. Same shape as dpc (edges replicated)."""
    a = np.asarray(dpc, dtype=np.float64)
    if smooth:
        k = 2 * smooth + 1
        p = np.pad(a, smooth, mode="edge")
        c = np.cumsum(np.cumsum(np.pad(p, ((1, 0), (1, 0))), axis=0), axis=1)
        a = (c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]) / (k * k)
    p = np.pad(a, ((0, 0), (1, 1)), mode="edge")
    d = p[:, 2:] - p[:, :-2]
    return d * d


def dilate(mask, radius):
    """Binary dilation by a (2 radius + 1) square (numpy only)."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            src = mask[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
            out[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)] |= src
    return out
