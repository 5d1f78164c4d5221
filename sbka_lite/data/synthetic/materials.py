"""Materials: how a part looks in a photo (colours, texture, volume, highlight, transparency, glow).

A class may override a material's colours with its own palette (`register_class(palette=...)`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Material:
    """One surface: a photo picks one of `colors` per image (or one of the class's palette colours)."""

    colors: tuple[tuple[int, int, int], ...]
    texture: tuple[float, float, float] = (0.06, 0.04, 0.03)  # amplitude of coarse / medium / fine noise
    streaks: float = 0.0  # wood-like grain
    edge_darkening: float = 0.35  # darkening towards the outline (reads as volume)
    specular: float = 0.0  # strength of the highlight on the lit side
    alpha: float = 1.0  # opacity (glass, smoke)
    emissive: bool = False  # lights and flames: no shading, and a glow around them


_PAINT = ((200, 30, 35), (30, 70, 160), (235, 235, 235), (30, 30, 35), (170, 175, 180), (230, 190, 30), (40, 120, 60), (220, 110, 30))
_BRIGHT = ((200, 40, 40), (40, 90, 180), (240, 190, 30), (40, 150, 70), (120, 60, 160), (240, 120, 30))
MATERIALS: dict[str, Material] = {
    "wall": Material(((215, 200, 170), (235, 230, 215), (185, 95, 70), (160, 160, 165), (225, 200, 130), (170, 190, 200)), (0.06, 0.05, 0.06), edge_darkening=0.15),
    "roof": Material(((150, 55, 45), (90, 65, 55), (70, 72, 85), (125, 85, 55)), (0.05, 0.06, 0.08), streaks=0.08, edge_darkening=0.15),
    "stone": Material(((150, 145, 135), (120, 115, 110), (170, 160, 140)), (0.08, 0.1, 0.1), edge_darkening=0.2),
    "door": Material(((110, 70, 40), (70, 45, 30), (150, 40, 40), (40, 70, 90)), (0.04, 0.04, 0.04), streaks=0.1, edge_darkening=0.2),
    "window": Material(((120, 160, 195), (70, 95, 120), (160, 195, 215)), (0.1, 0.02, 0.01), edge_darkening=0.1, specular=0.5),
    "trim": Material(((240, 240, 235), (60, 50, 45)), (0.02, 0.02, 0.02), edge_darkening=0.0),
    "dark": Material(((30, 28, 30), (45, 40, 38)), (0.03, 0.02, 0.03), edge_darkening=0.1, specular=0.15),
    "red": Material(((195, 35, 35), (215, 50, 40)), (0.04, 0.03, 0.03)),
    "facade": Material(((100, 130, 160), (140, 150, 160), (80, 100, 110), (170, 160, 140)), (0.15, 0.04, 0.02), edge_darkening=0.1, specular=0.5),
    "paint_white": Material(((240, 240, 238), (230, 232, 235)), (0.04, 0.03, 0.03)),
    "light": Material(((255, 240, 170), (255, 250, 220)), (0.0, 0.0, 0.0), edge_darkening=0.0, emissive=True),
    "flame": Material(((255, 170, 40), (255, 140, 30)), (0.0, 0.0, 0.0), edge_darkening=0.0, emissive=True),
    "beacon": Material(((40, 90, 230), (230, 40, 40)), (0.0, 0.0, 0.0), edge_darkening=0.0, emissive=True),
    "body": Material(_PAINT, (0.03, 0.02, 0.02), specular=0.55),
    "rubber": Material(((30, 30, 32),), (0.03, 0.03, 0.05), edge_darkening=0.4, specular=0.1),
    "hub": Material(((230, 190, 30), (200, 40, 30)), (0.02, 0.02, 0.02), specular=0.3),
    "cargo": Material(((225, 225, 220), (180, 180, 185), (60, 90, 150), (200, 150, 60)), (0.04, 0.03, 0.04), edge_darkening=0.15),
    "engine": Material(((30, 30, 35), (35, 70, 45), (120, 30, 30)), (0.03, 0.02, 0.03), specular=0.5),
    "metal": Material(((170, 172, 178), (130, 132, 138), (200, 200, 205)), (0.08, 0.03, 0.02), specular=0.7, edge_darkening=0.3),
    "brass": Material(((190, 150, 60), (170, 130, 50)), (0.06, 0.03, 0.02), specular=0.7),
    "dark_metal": Material(((40, 42, 45), (35, 50, 40), (60, 60, 62)), (0.04, 0.03, 0.03), specular=0.4),
    "smoke": Material(((200, 200, 200), (150, 150, 155)), (0.15, 0.1, 0.0), edge_darkening=0.5, alpha=0.7),
    "ceramic": Material(((240, 238, 230), (200, 40, 40), (40, 80, 160), (230, 200, 60), (60, 140, 120), (235, 225, 200), (30, 30, 30)), (0.03, 0.02, 0.02), specular=0.6, edge_darkening=0.45),
    "interior": Material(((60, 40, 30), (45, 40, 38)), (0.04, 0.03, 0.03), edge_darkening=0.5),
    "accent": Material(_BRIGHT, (0.03, 0.02, 0.02)),
    "glass": Material(((60, 120, 50), (120, 70, 25), (170, 200, 200), (40, 80, 150)), (0.05, 0.02, 0.01), specular=0.8, alpha=0.85, edge_darkening=0.4),
    "cap": Material(((190, 170, 80), (200, 40, 40), (40, 40, 40), (230, 230, 230)), (0.03, 0.02, 0.02), specular=0.5),
    "label": Material(((240, 230, 200), (200, 40, 40), (40, 60, 130), (240, 240, 240)), (0.03, 0.02, 0.02), edge_darkening=0.2),
    "glassware": Material(((225, 235, 240),), (0.02, 0.01, 0.0), specular=0.9, alpha=0.45, edge_darkening=0.8),
    "wine": Material(((120, 15, 30), (230, 210, 120), (180, 30, 40)), (0.03, 0.0, 0.0), alpha=0.85, specular=0.4),
    "pail": Material(((170, 172, 178), (200, 50, 40), (40, 90, 170), (230, 180, 40)), (0.06, 0.03, 0.03), specular=0.5),
    "trunk": Material(((100, 70, 45), (80, 55, 40), (120, 90, 60)), (0.06, 0.05, 0.08), streaks=0.15, edge_darkening=0.4),
    "foliage": Material(((60, 130, 50), (90, 150, 50), (40, 100, 45), (120, 150, 50)), (0.1, 0.12, 0.12), edge_darkening=0.4),
    "foliage_dark": Material(((30, 85, 45), (40, 100, 60), (25, 70, 40)), (0.08, 0.1, 0.12), edge_darkening=0.35),
    "coconut": Material(((110, 80, 40),), (0.05, 0.05, 0.05)),
    "cactus": Material(((70, 130, 70), (90, 145, 80)), (0.05, 0.05, 0.06), streaks=0.1, edge_darkening=0.5),
    "terracotta": Material(((185, 95, 60), (160, 80, 55)), (0.05, 0.05, 0.06), edge_darkening=0.35),
    "petal": Material(((250, 250, 245), (245, 215, 60), (230, 120, 170), (240, 150, 60)), (0.03, 0.03, 0.03), edge_darkening=0.3),
    "stem": Material(((70, 130, 55),), (0.04, 0.03, 0.03)),
    "flower_center": Material(((230, 170, 30), (120, 70, 30)), (0.06, 0.1, 0.12), edge_darkening=0.5),
    "cream": Material(((235, 225, 200), (220, 210, 185)), (0.05, 0.04, 0.04), edge_darkening=0.4),
    "mushroom_cap": Material(((200, 35, 30), (150, 90, 50), (220, 130, 50)), (0.05, 0.04, 0.04), specular=0.3, edge_darkening=0.5),
    "fabric": Material(((240, 230, 200), (230, 215, 180), (200, 60, 50), (60, 90, 80), (240, 240, 235)), (0.04, 0.06, 0.08), edge_darkening=0.2),
    "wax": Material(((245, 240, 225), (230, 60, 50), (245, 230, 180)), (0.03, 0.02, 0.02), edge_darkening=0.4, specular=0.2),
    "fur": Material(((150, 110, 80),), (0.06, 0.08, 0.14), edge_darkening=0.45),
    "fur_dark": Material(((90, 60, 40),), (0.06, 0.08, 0.14), edge_darkening=0.45),
    "fur_light": Material(((235, 225, 210),), (0.05, 0.06, 0.1), edge_darkening=0.3),
    "fur_inner": Material(((230, 170, 170),), (0.04, 0.04, 0.05), edge_darkening=0.3),
    "iris": Material(((200, 180, 40), (120, 170, 60), (220, 140, 30)), (0.04, 0.05, 0.05), specular=0.6, edge_darkening=0.3),
    "nose": Material(((220, 130, 140), (60, 40, 40)), (0.03, 0.03, 0.03), specular=0.4),
    "tongue": Material(((225, 95, 110),), (0.03, 0.03, 0.03), specular=0.4),
    "feather": Material(((130, 95, 60), (150, 130, 110), (100, 80, 60)), (0.06, 0.1, 0.14), edge_darkening=0.4),
    "feather_dark": Material(((90, 65, 45), (100, 90, 80)), (0.06, 0.1, 0.14), streaks=0.1, edge_darkening=0.4),
    "beak": Material(((220, 160, 40), (120, 110, 100)), (0.04, 0.03, 0.03), specular=0.3),
    "pig": Material(((240, 175, 170), (230, 160, 150)), (0.04, 0.04, 0.05), edge_darkening=0.45),
    "pig_dark": Material(((225, 140, 140),), (0.04, 0.04, 0.05), edge_darkening=0.45, specular=0.2),
    "wood": Material(((160, 110, 60), (130, 85, 45), (190, 140, 80)), (0.05, 0.04, 0.04), streaks=0.2, edge_darkening=0.3),
    "wood_light": Material(((210, 150, 80), (180, 100, 40), (150, 60, 30)), (0.05, 0.04, 0.03), streaks=0.12, specular=0.5, edge_darkening=0.35),
    "wood_dark": Material(((60, 40, 30), (90, 55, 35)), (0.04, 0.03, 0.03), streaks=0.15, specular=0.3),
    "wood_hull": Material(((170, 110, 60), (190, 50, 40), (60, 110, 70), (40, 70, 130)), (0.05, 0.04, 0.04), streaks=0.15, specular=0.4),
    "plastic": Material(_BRIGHT + ((40, 40, 45), (220, 220, 225), (150, 150, 155)), (0.03, 0.02, 0.02), specular=0.5, edge_darkening=0.45),
    "plastic_dark": Material(((35, 35, 40), (60, 60, 65), (25, 25, 28)), (0.03, 0.02, 0.02), specular=0.4),
    "bristle": Material(((210, 180, 130), (40, 35, 30)), (0.04, 0.06, 0.12), streaks=0.2),
    "paint": Material(_BRIGHT, (0.05, 0.04, 0.03), specular=0.5),
    "clock_body": Material(((200, 40, 40), (40, 80, 160), (180, 180, 185), (30, 30, 30), (230, 190, 40)), (0.03, 0.02, 0.02), specular=0.7, edge_darkening=0.4),
    "clock_face": Material(((245, 243, 235), (240, 235, 215)), (0.02, 0.02, 0.02), edge_darkening=0.15),
    "screen": Material(((30, 40, 60), (40, 60, 90), (90, 130, 170)), (0.2, 0.04, 0.01), specular=0.6, edge_darkening=0.1),
    "water": Material(((60, 110, 170),), (0.05, 0.03, 0.03), edge_darkening=0.0),
    "hull": Material(((240, 240, 240), (40, 40, 45), (170, 40, 35), (40, 70, 130)), (0.04, 0.03, 0.03), specular=0.4),
    "sail": Material(((245, 242, 230), (235, 225, 200), (200, 60, 50)), (0.04, 0.04, 0.03), edge_darkening=0.15),
    "funnel": Material(((200, 40, 30), (230, 180, 40), (30, 30, 30)), (0.03, 0.02, 0.02), specular=0.3),
}
