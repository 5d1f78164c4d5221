"""Photo rendering: one coloured, textured, shaded instance of a class in a cluttered scene.

The steps, in the order `draw_photo` runs them: the scene behind (`background.py`), one light for
the whole image (a brightness ramp plus texture fields), the object's soft cast shadow, its parts
(colour per material, shading towards the outline, texture, a highlight, transparency), the glow
of lights and flames, sometimes something in front at the frame's edge, and the camera (exposure,
white balance, vignette, sensor noise, lens blur).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .background import draw_background, smooth_noise
from .catalogue import get_class
from .geometry import Part, Variation
from .instance import check_size, class_seed, independent_streams, random_pose
from .materials import MATERIALS, Material

Placed = tuple[Part, np.ndarray, float]  # a part, its points in pixels, its stroke width in pixels


@dataclass(frozen=True)
class Lighting:
    """One light for the whole image, so all surfaces look lit alike; texture fields shared by all parts."""

    direction: np.ndarray  # unit vector towards the light, in image coordinates
    xx: np.ndarray  # pixel x / n
    yy: np.ndarray  # pixel y / n
    ramp: np.ndarray  # brightness falling off away from the light
    texture: tuple[np.ndarray, np.ndarray, np.ndarray]  # coarse, medium and fine noise
    streaks: np.ndarray  # wood-like grain


def draw_photo(class_name: str, *, seed: int, size: int = 128) -> Image.Image:
    """One photo-like RGB image of `class_name`: a coloured, textured, shaded instance in a cluttered scene.

    Pure function of (class_name, seed, size). Pose, scale, position, lighting, colours, texture,
    background, blur and sensor noise vary with `seed`; part outlines are anti-aliased.
    """
    spec = get_class(class_name)
    check_size(size)
    r_geometry, r_pose, r_look, r_background = independent_streams(class_seed(seed, class_name), 4)
    n = size
    parts = spec.build(Variation(r_geometry))
    pose = random_pose(r_pose, n, photo=True)
    canvas = draw_background(r_background, n)
    light = _lighting(r_look, n)
    placed = [(p, pose.apply(p.points), p.width * pose.scale) for p in parts]
    canvas = _cast_shadow(canvas, placed, light, r_look, n)
    canvas, glow = _paint_parts(canvas, placed, dict(spec.palette), light, r_look, n)
    if glow.getbbox():
        halo = _soft(glow, n * 0.05)[..., None]
        canvas = canvas + 0.5 * halo * (np.array([1.0, 0.85, 0.5]) - canvas * 0.5)
    if r_look.random() < 0.2:
        canvas = _occluder(canvas, light, r_look, n)
    return _camera(canvas, light, r_look, size)


def _lighting(rng: np.random.Generator, n: int) -> Lighting:
    theta = rng.uniform(0, 2 * math.pi)
    direction = np.array([math.cos(theta), math.sin(theta)])
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    ramp = 1.0 + rng.uniform(0.15, 0.45) * ((xx - 0.5) * direction[0] + (yy - 0.5) * direction[1])
    texture = (smooth_noise(rng, (5, 5), n), smooth_noise(rng, (n // 10, n // 10), n), rng.standard_normal((n, n)).astype(np.float32) * 0.6)
    streaks = smooth_noise(rng, (n // 3, 3), n)
    return Lighting(direction, xx, yy, ramp, texture, streaks)


def _part_mask(pts: np.ndarray, width: float, closed: bool, box: tuple[int, int, int, int]) -> Image.Image:
    """Anti-aliased coverage of one part inside `box`: drawn at 2x, then averaged down."""
    x0, y0, x1, y1 = box
    m = Image.new("L", (2 * (x1 - x0), 2 * (y1 - y0)), 0)
    d = ImageDraw.Draw(m)
    local = ((pts - (x0, y0)) * 2).ravel().tolist()
    if width > 0:
        if closed:
            local += local[:2]
        d.line(local, fill=255, width=max(1, int(round(2 * width))), joint="curve")
    else:
        d.polygon(local, fill=255)
    return m.reduce(2)


def _soft(mask: Image.Image, radius: float, box: bool = False) -> np.ndarray:
    """A blurred mask in [0, 1] (Gaussian, or a cheaper box blur; large radii blur at reduced resolution)."""
    f = int(max(1, min(4, radius // 2)))
    small = mask.reduce(f) if f > 1 else mask
    blurred = small.filter((ImageFilter.BoxBlur if box else ImageFilter.GaussianBlur)(float(radius / f)))
    if f > 1:
        blurred = blurred.resize(mask.size, Image.BILINEAR)
    return np.asarray(blurred, dtype=np.float32) / 255.0


def _cast_shadow(canvas: np.ndarray, placed: list[Placed], light: Lighting, rng: np.random.Generator, n: int) -> np.ndarray:
    """A soft cast shadow: the blurred silhouette, shifted away from the light."""
    silhouette = Image.new("L", (n, n), 0)
    draw = ImageDraw.Draw(silhouette)
    for _, pts, width in placed:
        if width > 0:
            draw.line(pts.ravel().tolist(), fill=255, width=max(1, int(width)))
        else:
            draw.polygon(pts.ravel().tolist(), fill=255)
    offset = (-light.direction * n * rng.uniform(0.02, 0.06)).astype(int)
    shadow = _soft(ImageChops.offset(silhouette, int(offset[0]), int(offset[1])), n * 0.025)
    canvas *= 1.0 - rng.uniform(0.3, 0.55) * shadow[..., None]
    return canvas


def _paint_parts(canvas: np.ndarray, placed: list[Placed], palette: dict, light: Lighting, rng: np.random.Generator,
                 n: int) -> tuple[np.ndarray, Image.Image]:
    """Composite the parts in order; returns the canvas and the coverage of emissive parts (for their glow)."""
    colours: dict[str, np.ndarray] = {}
    glow = Image.new("L", (n, n), 0)
    for part, pts, width in placed:
        material = MATERIALS[part.material]
        if part.material not in colours:  # one colour per material per image
            choices = palette.get(part.material, material.colors)
            base = np.array(choices[int(rng.integers(len(choices)))], dtype=np.float32) / 255.0
            colours[part.material] = np.clip(base * rng.uniform(0.9, 1.1) * rng.uniform(0.94, 1.06, 3), 0, 1)
        box = _pixel_box(pts, width, n)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        coverage = _part_mask(pts, width, part.closed, box)
        region = (slice(y0, y1), slice(x0, x1))
        if material.emissive:
            glow.paste(ImageChops.lighter(glow.crop(box), coverage), (x0, y0))
        rgb = colours[part.material][None, None, :] * _shading(material, coverage, box, light)[..., None]
        if material.specular > 0:
            rgb = _highlight(rgb, material, box, light, n)
        alpha = (np.asarray(coverage, dtype=np.float32) / 255.0)[..., None] * material.alpha
        canvas[region] = canvas[region] * (1 - alpha) + np.clip(rgb, 0, 1) * alpha
    return canvas, glow


def _pixel_box(pts: np.ndarray, width: float, n: int) -> tuple[int, int, int, int] | None:
    """The part's bounding box in pixels, clipped to the image; None when it is (nearly) outside."""
    pad = int(width) + 2
    x0, y0 = np.floor(pts.min(0)).astype(int) - pad
    x1, y1 = np.ceil(pts.max(0)).astype(int) + pad
    x0, y0, x1, y1 = int(max(x0, 0)), int(max(y0, 0)), int(min(x1, n)), int(min(y1, n))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return x0, y0, x1, y1


def _shading(material: Material, coverage: Image.Image, box: tuple[int, int, int, int], light: Lighting) -> np.ndarray:
    """Brightness of the part's pixels: the light's ramp, darker near the outline, times the material's texture."""
    x0, y0, x1, y1 = box
    if material.emissive:
        return np.ones((y1 - y0, x1 - x0), dtype=np.float32)
    region = (slice(y0, y1), slice(x0, x1))
    shade = light.ramp[region].copy()
    if material.edge_darkening > 0:  # blurred mask ~0.5 at the edge, 1 deep inside
        shade *= 1.0 - material.edge_darkening * (1.0 - _soft(coverage, max(0.7, 0.1 * min(x1 - x0, y1 - y0)), box=True))
    coarse, medium, fine = light.texture
    texture = (material.texture[0] * coarse[region] + material.texture[1] * medium[region] + material.texture[2] * fine[region]
               + material.streaks * light.streaks[region])
    shade *= 1.0 + texture
    return shade


def _highlight(rgb: np.ndarray, material: Material, box: tuple[int, int, int, int], light: Lighting, n: int) -> np.ndarray:
    """A specular highlight on the lit side of the part."""
    x0, y0, x1, y1 = box
    region = (slice(y0, y1), slice(x0, x1))
    cx, cy = (x0 + x1) / 2 + light.direction[0] * 0.22 * (x1 - x0), (y0 + y1) / 2 + light.direction[1] * 0.22 * (y1 - y0)
    sigma = 0.18 * max(x1 - x0, y1 - y0) + 0.5
    g = np.exp(-(((light.xx[region] * n - cx) ** 2 + (light.yy[region] * n - cy) ** 2) / (2 * sigma ** 2)))
    return rgb + material.specular * 0.6 * g[..., None] * (1 - rgb)


def _occluder(canvas: np.ndarray, light: Lighting, rng: np.random.Generator, n: int) -> np.ndarray:
    """Something in front of the object, at the edge of the frame."""
    mask = Image.new("L", (n, n), 0)
    side = rng.integers(4)
    cx, cy = [(0, rng.uniform(0, n)), (n, rng.uniform(0, n)), (rng.uniform(0, n), n), (rng.uniform(0, n), 0)][side]
    ImageDraw.Draw(mask).ellipse([cx - n * 0.15, cy - n * 0.12, cx + n * 0.15, cy + n * 0.12], fill=255)
    a = _soft(mask, n * 0.01)[..., None]
    return canvas * (1 - a) + a * (rng.uniform(0.1, 0.9, 3) * (1 + 0.1 * light.texture[1][..., None]))


def _camera(canvas: np.ndarray, light: Lighting, rng: np.random.Generator, size: int) -> Image.Image:
    """Exposure, white balance, vignette, sensor noise and lens blur; returns the 8-bit image."""
    n = canvas.shape[0]
    canvas = canvas * (rng.uniform(0.85, 1.15) * (1 + rng.normal(0, 0.05, 3)))
    canvas *= 1 - 0.5 * rng.uniform(0, 1) * ((light.xx - 0.5) ** 2 + (light.yy - 0.5) ** 2)[..., None]
    canvas += rng.normal(0, rng.uniform(0.004, 0.02), (n, n, 1))
    img = Image.fromarray((np.clip(canvas, 0, 1) * 255).astype(np.uint8))
    return img.filter(ImageFilter.GaussianBlur(rng.uniform(0.0, 0.6) * size / 128))
