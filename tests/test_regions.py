"""The nine-region automask, user masks and insole templates (pressure/regions/).

No Numba kernel here, so no NumPy twin: every function is plain NumPy/SciPy/matplotlib.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from drivers.foot_model import PlacedFoot, shape_for_arch, unit
from pressure.arch import foot_geometry
from pressure.regions import (REGIONS, MaskFileError, TemplateError, automask, automask_details, automask_of_geometry,
                              cell_regions, insole_labels, load_masks, load_template, pedar_sensor_of_cells,
                              shipped_template)
from pressure.regions.automask import HEEL_END, MIDFOOT_END, medial_direction
from pressure.regions.insoles import pedar_template_from_layout, template_from_toml
from tests.conftest import shared_file

PITCH = 5.0
R = {name: index for index, name in enumerate(REGIONS)}
HEEL = (R["medial_heel"], R["lateral_heel"])
MIDFOOT = (R["medial_midfoot"], R["lateral_midfoot"])
FOREFOOT = (R["mth1"], R["mth2_3"], R["mth4_5"])
TOES = (R["hallux"], R["lesser_toes"])


def synthetic_print(side: str, heading_deg: float, arch: str = "normal", n: int = 90, **form):
    """A simulator foot (drivers.foot_model) drawn on an n x n mat of 5 mm cells: print without
    toes, toes (islands beyond a gap, as the analysis finds them), peak image, the placed foot."""
    shape = shape_for_arch(arch, **form)
    axis = np.array(unit(heading_deg))
    centre = np.full(2, n * PITCH / 2)
    placed = PlacedFoot(shape, tuple(centre - axis * shape.reach_mm / 2), tuple(axis), side)
    rows, cols = np.mgrid[0:n, 0:n]
    u, m = placed.foot_coordinates(cols * PITCH, rows * PITCH)
    return shape.print_mask(u, m), shape.toe_mask(u, m), 2.0 * shape.relative_pressure(u, m), placed


def labels_of(print_mask, toes_mask, peak, side, forward):
    """The automask as analysis would call it: the axis from pressure.arch.foot_geometry."""
    geometry = foot_geometry(print_mask, toes_mask, PITCH, PITCH, np.asarray(forward, float), side)
    return automask(print_mask, peak, PITCH, PITCH, side, geometry.heel_xy, geometry.axis, toes_mask)


def centroid(labels, regions) -> np.ndarray:
    rows, cols = np.nonzero(np.isin(labels, regions))
    return np.array([cols.mean() * PITCH, rows.mean() * PITCH])


# -- the nine regions on a synthetic foot -------------------------------------------------------
@pytest.mark.parametrize("arch", ["high", "normal", "flat"])
def test_regions_cover_the_print_once(arch):
    print_mask, toes, peak, _ = synthetic_print("right", 90, arch)
    labels = labels_of(print_mask, toes, peak, "right", (0, 1))
    assert labels.dtype == np.int8
    np.testing.assert_array_equal(labels >= 0, print_mask | toes)  # every cell of the foot, nothing else
    assert set(np.unique(labels[labels >= 0])) == set(range(len(REGIONS)))  # all nine present
    np.testing.assert_array_equal(np.isin(labels, TOES), toes)  # toes are exactly the toes found


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("heading", [90, 270, 0, 180, 37, 217, 128])
def test_medial_and_lateral_follow_the_foot_and_its_heading(side, heading):
    """Medial is the hallux's side for either foot and any way of walking: judged in mat
    coordinates against the simulator's own medial direction."""
    print_mask, toes, peak, placed = synthetic_print(side, heading)
    labels = labels_of(print_mask, toes, peak, side, unit(heading))
    medial = medial_direction(placed.axis_xy, side)
    # the simulator's medial direction: its foot coordinate m grows that way
    u0, m0 = placed.foot_coordinates(np.array(0.0), np.array(0.0))
    u1, m1 = placed.foot_coordinates(np.array(medial[0]), np.array(medial[1]))
    assert m1 - m0 == pytest.approx(1.0) and u1 - u0 == pytest.approx(0.0, abs=1e-9)
    for medial_part, lateral_part in [(R["medial_heel"], R["lateral_heel"]), (R["mth1"], R["mth4_5"]),
                                      (R["mth1"], R["mth2_3"]), (R["mth2_3"], R["mth4_5"]),
                                      (R["hallux"], R["lesser_toes"])]:
        assert (centroid(labels, medial_part) - centroid(labels, lateral_part)) @ medial > 5.0
    forward = np.asarray(placed.axis_xy)
    assert (centroid(labels, FOREFOOT) - centroid(labels, HEEL)) @ forward > 100.0
    assert (centroid(labels, TOES) - centroid(labels, FOREFOOT)) @ forward > 30.0


@pytest.mark.parametrize("arch", ["high", "flat"])
def test_mirrored_and_turned_prints_get_mirrored_and_turned_labels(arch):
    """A left foot is a mirrored right foot; a foot turned by 90 or 180 degrees on the grid keeps
    its labels, turned with it."""
    print_mask, toes, peak, _ = synthetic_print("right", 90, arch)
    right = labels_of(print_mask, toes, peak, "right", (0, 1))
    left = labels_of(print_mask[:, ::-1], toes[:, ::-1], peak[:, ::-1], "left", (0, 1))
    np.testing.assert_array_equal(left, right[:, ::-1])
    turned = labels_of(np.rot90(print_mask, 2), np.rot90(toes, 2), np.rot90(peak, 2), "right", (0, -1))
    np.testing.assert_array_equal(turned, np.rot90(right, 2))
    # np.rot90 takes (x, y) to (y, -x): the toes, towards +y, now point towards +x
    quarter = labels_of(np.rot90(print_mask), np.rot90(toes), np.rot90(peak), "right", (1, 0))
    np.testing.assert_array_equal(quarter, np.rot90(right))


@pytest.mark.parametrize("heading", [90, 37])
@pytest.mark.parametrize("arch", ["high", "normal", "flat"])
def test_region_shares_follow_the_definition(arch, heading):
    """Shares of the print's area (toes included) within ranges the definition sets:

    - heel = the back 27 % of the foot length: the heel pad, a fifth to a third of the area;
    - the axis runs through the heel centre (mean of the back 15 %), so it halves the heel:
      each side 40-60 % of the heel;
    - midfoot = 27-55 % of the length: the arch's band, 10-35 %; the medial midfoot is the arch
      itself, so it grows from high to flat arches (checked across arches below);
    - forefoot = 55 % to the toes, the broadest part: 30-55 %; its three parts take 30 %, 34 % and
      36 % of the width between the edge lines, which the rounded forefoot fills less at its
      edges: each 15-50 % of the forefoot;
    - hallux and lesser toes together are exactly the toes found.
    """
    print_mask, toes, peak, _ = synthetic_print("left", heading, arch)
    labels = labels_of(print_mask, toes, peak, "left", unit(heading))
    counts = np.bincount(labels[labels >= 0], minlength=len(REGIONS))
    total = counts.sum()
    heel, midfoot, forefoot = counts[list(HEEL)].sum(), counts[list(MIDFOOT)].sum(), counts[list(FOREFOOT)].sum()
    assert 0.20 <= heel / total <= 0.34
    assert 0.40 <= counts[R["medial_heel"]] / heel <= 0.60
    assert 0.10 <= midfoot / total <= 0.35
    assert 0.30 <= forefoot / total <= 0.55
    for region in FOREFOOT:
        assert 0.15 <= counts[region] / forefoot <= 0.50, REGIONS[region]
    assert counts[list(TOES)].sum() == toes.sum()


def test_flatter_arches_load_more_medial_midfoot():
    shares = []
    for arch in ("high", "normal", "flat"):
        print_mask, toes, peak, _ = synthetic_print("right", 90, arch)
        labels = labels_of(print_mask, toes, peak, "right", (0, 1))
        shares.append(np.mean(labels[labels >= 0] == R["medial_midfoot"]))
    assert shares[0] < shares[1] < shares[2]


def test_lines_lie_where_the_definition_puts_them():
    print_mask, toes, peak, placed = synthetic_print("right", 90)
    geometry = foot_geometry(print_mask, toes, PITCH, PITCH, np.array([0.0, 1.0]), "right")
    mask = automask_details(print_mask, peak, PITCH, PITCH, "right", geometry.heel_xy, geometry.axis, toes)
    frame = mask.frame
    um = frame.to_foot(np.column_stack([np.nonzero(mask.labels >= 0)[1], np.nonzero(mask.labels >= 0)[0]]) * PITCH)
    u = um[:, 0] / frame.length_mm
    values = mask.labels[mask.labels >= 0]
    assert u[np.isin(values, HEEL)].max() < HEEL_END <= u[np.isin(values, MIDFOOT)].min()
    assert u[np.isin(values, MIDFOOT)].max() < MIDFOOT_END <= u[np.isin(values, FOREFOOT)].min()
    # foot length: back of the heel to the toe tip (the simulator's foot reaches u = 212 + 33 mm)
    assert frame.length_mm == pytest.approx(placed.shape.print_length_mm + placed.shape.toe_gap_mm + 33, abs=PITCH)
    assert frame.to_mat(frame.to_foot(np.array([[1.0, 2.0]]))) == pytest.approx(np.array([[1.0, 2.0]]))


def test_toes_are_found_from_the_peak_image_when_not_given():
    """Without toes_mask the toes come from pressure.arch.split_toes on the peak image: a print
    whose toes are joined to the forefoot, cut at the pressure dip."""
    print_mask, toes, peak, _ = synthetic_print("right", 90, toe_gap_mm=0.0)
    whole = print_mask | toes
    geometry = foot_geometry(print_mask, toes, PITCH, PITCH, np.array([0.0, 1.0]), "right")
    found = automask(whole, peak, PITCH, PITCH, "right", geometry.heel_xy, geometry.axis)
    assert np.isin(found, TOES).sum() > 0.5 * toes.sum()
    with pytest.raises(ValueError, match="peak-pressure image"):
        automask(whole, None, PITCH, PITCH, "right", geometry.heel_xy, geometry.axis)
    with pytest.raises(ValueError, match="left' or 'right"):
        automask(whole, peak, PITCH, PITCH, "both", geometry.heel_xy, geometry.axis, toes)


def test_faint_cells_take_the_nearest_region():
    labels = np.full((3, 4), -1, np.int8)
    labels[1, 0], labels[1, 3] = R["medial_heel"], R["mth1"]
    np.testing.assert_array_equal(cell_regions(labels, np.array([4, 7, 5, 6])),
                                  [R["medial_heel"], R["mth1"], R["medial_heel"], R["mth1"]])
    assert (cell_regions(np.full((2, 2), -1, np.int8), np.array([0, 3])) == -1).all()


# -- user masks ---------------------------------------------------------------------------------
MASK_REGIONS = {  # percent of foot length: a heel, a medial and a lateral forefoot half, the toes
    "heel": [[0, -60], [27, -60], [27, 60], [0, 60]],
    "medial forefoot": [[55, 0], [84, 0], [84, 60], [55, 60]],
    "lateral forefoot": [[55, -60], [84, -60], [84, 0], [55, 0]],
    "front": [[84, -60], [110, -60], [110, 60], [84, 60]],
}


def write_toml(path: Path, regions: dict, units: str) -> Path:
    lines = [f'units = "{units}"']
    for name, polygon in regions.items():
        lines += ["[[region]]", f'name = "{name}"', f"polygon = {json.dumps(polygon)}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_geojson(path: Path, regions: dict, units: str) -> Path:
    features = [{"type": "Feature", "properties": {"name": name},
                 "geometry": {"type": "Polygon", "coordinates": [polygon + [polygon[0]]]}}  # closed rings
                for name, polygon in regions.items()]
    path.write_text(json.dumps({"type": "FeatureCollection", "units": units, "features": features}))
    return path


def frame_of(side: str, heading: float, arch: str = "normal"):
    print_mask, toes, peak, _ = synthetic_print(side, heading, arch)
    geometry = foot_geometry(print_mask, toes, PITCH, PITCH, np.array(unit(heading)), side)
    mask = automask_details(print_mask, peak, PITCH, PITCH, side, geometry.heel_xy, geometry.axis, toes)
    return mask, print_mask | toes


def test_toml_and_geojson_masks_give_the_same_labels(tmp_path):
    toml_masks = load_masks(write_toml(tmp_path / "m.toml", MASK_REGIONS, "percent"))
    json_masks = load_masks(write_geojson(tmp_path / "m.geojson", MASK_REGIONS, "percent"))
    assert toml_masks.names == json_masks.names == tuple(MASK_REGIONS)
    for side, heading in [("left", 90), ("right", 37), ("right", 270)]:
        mask, whole = frame_of(side, heading)
        a = toml_masks.apply(mask.frame, whole.shape, PITCH, PITCH, within=whole)
        b = json_masks.apply(mask.frame, whole.shape, PITCH, PITCH, within=whole)
        np.testing.assert_array_equal(a, b)
        assert (a[~whole] == -1).all()
        rows, cols = np.nonzero(whole)
        np.testing.assert_array_equal(toml_masks.label_xy(mask.frame, np.column_stack([cols, rows]) * PITCH), a[whole])
        # the percent heel is the automask's heel, the medial half its medial side
        np.testing.assert_array_equal(a == 0, np.isin(mask.labels, HEEL))
        medial = mask.frame.medial
        assert (centroid(a, [1]) - centroid(a, [2])) @ medial > 10.0


def test_percent_and_mm_masks_agree(tmp_path):
    mask, whole = frame_of("right", 90)
    length = mask.frame.length_mm
    in_mm = {name: [[x * length / 100, y * length / 100] for x, y in polygon] for name, polygon in MASK_REGIONS.items()}
    percent = load_masks(write_toml(tmp_path / "p.toml", MASK_REGIONS, "percent"))
    mm = load_masks(write_geojson(tmp_path / "mm.json", in_mm, "mm"))
    np.testing.assert_array_equal(percent.apply(mask.frame, whole.shape, PITCH, PITCH, within=whole),
                                  mm.apply(mask.frame, whole.shape, PITCH, PITCH, within=whole))


def test_one_mask_file_fits_both_feet(tmp_path):
    masks = load_masks(write_toml(tmp_path / "m.toml", MASK_REGIONS, "mm"))
    print_mask, toes, _, _ = synthetic_print("right", 90)
    right, _ = frame_of("right", 90)
    geometry = foot_geometry(print_mask[:, ::-1], toes[:, ::-1], PITCH, PITCH, np.array([0.0, 1.0]), "left")
    left = automask_details(print_mask[:, ::-1], None, PITCH, PITCH, "left", geometry.heel_xy, geometry.axis,
                            toes[:, ::-1])
    shape = print_mask.shape
    np.testing.assert_array_equal(masks.apply(left.frame, shape, PITCH, PITCH),
                                  masks.apply(right.frame, shape, PITCH, PITCH)[:, ::-1])


def test_shared_edges_and_overlaps(tmp_path):
    """Regions sharing an edge split the cells on it; where regions overlap the first listed wins;
    holes are left out."""
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "ring"},
         "geometry": {"type": "Polygon", "coordinates": [[[0, -50], [300, -50], [300, 50], [0, 50]],
                                                         [[100, -20], [200, -20], [200, 20], [100, 20]]]}},
        {"type": "Feature", "properties": {"name": "all"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[[[-10, -99], [400, -99], [400, 0], [-10, 0]]],
                                                              [[[-10, 0], [400, 0], [400, 99], [-10, 99]]]]}}]}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(geojson))
    masks = load_masks(path)
    um = np.array([[50.0, 0.0], [150.0, 0.0], [150.0, 30.0], [350.0, 0.0], [350.0, -60.0], [500.0, 0.0]])
    np.testing.assert_array_equal(masks.label_points(um, 250.0), [0, 1, 0, 1, 1, -1])


BAD_TOML = [
    ("units = \"mm\"\n[[region]\nname = \"a\"", "not valid TOML"),
    ("units = \"mm\"\n", "no regions"),
    ("[[region]]\npolygon = [[0, 0], [1, 0], [1, 1]]", "needs a name"),
    ("[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, 0]]", "at least 3 distinct points"),
    ("[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, \"x\"], [1, 1]]", "point 2"),
    ("[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, 1], [2, 2]]", "encloses no area"),
    (("[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, 0], [1, 1]]\n"
      "[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, 0], [1, 1]]"), "given twice"),
    ("[[region]]\nname = \"a\"\npolygons = [[0, 0], [1, 0], [1, 1]]", "unknown key 'polygons'"),
    ("units = \"inch\"\n[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, 0], [1, 1]]", "units must be"),
    ("[[region]]\nname = \"a\"\npolygon = [[0, 0], [1, 0], [1, inf]]", "not finite"),
]
BAD_JSON = [
    ("{\"type\": \"FeatureCollection\", \"features\": [}", "not valid JSON"),
    ("{\"type\": \"Feature\"}", "FeatureCollection"),
    ("{\"type\": \"FeatureCollection\", \"features\": []}", "no features"),
    (("{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {\"name\": \"a\"}, "
      "\"geometry\": {\"type\": \"Point\", \"coordinates\": [0, 0]}}]}"), "'Point' is not Polygon"),
    (("{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {}, "
      "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[0, 0], [1, 0], [1, 1]]]}}]}"), "needs a name"),
    (("{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {\"name\": \"a\"}, "
      "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[0, 0], [1, 0], [1, 1]]}}]}"), "point 1"),
    (("{\"type\": \"FeatureCollection\", \"features\": [{\"type\": \"Feature\", \"properties\": {\"name\": \"a\"}, "
      "\"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[0, 0], [1, 0], [NaN, 1]]]}}]}"), "not finite"),
]


@pytest.mark.parametrize("suffix, text, expected", [(".toml", *case) for case in BAD_TOML]
                         + [(".json", *case) for case in BAD_JSON])
def test_bad_mask_files_give_one_line_naming_the_file(tmp_path, suffix, text, expected):
    path = tmp_path / f"bad{suffix}"
    path.write_text(text)
    with pytest.raises(MaskFileError) as caught:
        load_masks(path)
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message and expected in message, message


def test_unreadable_mask_files(tmp_path):
    for path, expected in [(tmp_path / "missing.toml", "cannot be read"), (tmp_path / "mask.txt", ".toml, .json")]:
        with pytest.raises(MaskFileError, match=expected) as caught:
            load_masks(path)
        assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)


# -- insole templates ---------------------------------------------------------------------------
def span(a, b):
    return list(range(a, b + 1))


# van der Zwaard et al. (2014)'s pedar mask as pressuRe's pedar_mask3 lists it (sensor numbers)
VAN_DER_ZWAARD = {
    "medial_heel": span(1, 2) + span(6, 8) + span(13, 15) + span(20, 22),
    "lateral_heel": span(3, 5) + span(9, 12) + span(16, 19) + span(23, 26),
    "medial_midfoot": span(27, 29) + span(34, 36) + span(41, 43) + span(48, 50) + span(55, 57),
    "lateral_midfoot": span(30, 33) + span(37, 40) + span(44, 47) + span(51, 54) + span(58, 59),
    "mth1": span(62, 63) + span(69, 70) + span(76, 77),
    "mth2_3": span(64, 66) + span(71, 73) + span(78, 80),
    "mth4_5": span(60, 61) + span(67, 68) + span(74, 75),
    "hallux": span(83, 84) + span(90, 91) + [96],
    "lesser_toes": span(81, 82) + span(85, 89) + span(92, 95) + span(97, 99),
}


def test_shipped_pedar_template_is_the_layout_by_the_automask_rules():
    shipped = shipped_template("pedar")
    assert shipped.device == "pedar" and shipped.sensors == 99 and shipped.names == REGIONS
    for insole in ("left", "right"):  # the insoles mirror each other: one template for both
        np.testing.assert_array_equal(pedar_template_from_layout(insole).sensor_region, shipped.sensor_region)
    reference = np.zeros(99, np.int64)
    for name, sensors in VAN_DER_ZWAARD.items():
        reference[np.array(sensors) - 1] = R[name]
    # the hand-drawn mask differs only on the lines (27 %, 55 %, toe line, heel axis): see the template's header
    assert (shipped.sensor_region == reference).sum() >= 83
    assert set(np.flatnonzero(shipped.sensor_region == R["hallux"]) + 1) == set(VAN_DER_ZWAARD["hallux"])
    round_trip = template_from_toml(shipped.to_toml(), "again")
    np.testing.assert_array_equal(round_trip.sensor_region, shipped.sensor_region)


@pytest.mark.parametrize("text, expected", [
    ("device = \"x\"\nsensors = 3\n[regions]\na = [1, 2]\nb = [2, 3]", "sensor 2 is in both 'a' and 'b'"),
    ("device = \"x\"\nsensors = 3\n[regions]\na = [1, 2]", "1 sensors in no region: 3"),
    ("device = \"x\"\nsensors = 3\n[regions]\na = [1, 2, 3, 4]", "sensor 4 is not in 1..3"),
    ("device = \"x\"\nsensors = 0\n[regions]\na = [1]", "sensors must be a whole number"),
    ("device = \"x\"\nsensors = 2\nsize = 3\n[regions]\na = [1, 2]", "unknown key 'size'"),
    ("device = \"x\"\nsensors = 2\n[regions]\na = [1, \"2\"]", "list of sensor numbers"),
])
def test_bad_templates_give_one_line_naming_the_file(tmp_path, text, expected):
    path = tmp_path / "insole.toml"
    path.write_text(text)
    with pytest.raises(TemplateError) as caught:
        load_template(path)
    assert str(caught.value).startswith(str(path)) and "\n" not in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize("layout", ["", "?layout=outlines"])
def test_pedar_recordings_get_regions_per_sensor(layout):
    """On the real pedar example (both pedar layouts) every sensor cell has a region and the
    highest toe pressure of each foot lies in its hallux region."""
    import drivers

    recording = drivers.load(str(shared_file("novel_pedar/pedar_example.asc")) + layout)
    labels = insole_labels(shipped_template("pedar"), pedar_sensor_of_cells(recording.info))
    foot_map = recording.info.foot_map
    np.testing.assert_array_equal(labels >= 0, foot_map >= 0)
    peak = np.nan_to_num(recording.kpa().max(axis=0))
    for side in (0, 1):
        toes = (foot_map == side) & np.isin(labels, TOES)
        assert labels.ravel()[np.argmax(np.where(toes, peak, -1).ravel())] == R["hallux"]


# -- real footsteps ------------------------------------------------------------------------------
def test_speedpp2ds_footsteps_hallux_and_metatarsal_heads():
    """SpeedPP2DS (right feet walking towards +y, the hallux at lower columns, per its README): on
    the first footstep of each subject the hallux's pressure peak (of the toes' peaks above
    half their highest, the one at the lowest column) lies in the hallux region; the highest
    pressure of the front of the foot (beyond 40 % of its length, toes apart: the metatarsal heads)
    lies in a metatarsal-head region, not in the midfoot; and each medial region lies at lower
    columns than its lateral partner. (On all 300 footsteps: 299 of 299 with toes, 300 of 300 and
    855 of 855; the highest toe pressure itself is the second toe's in 2 of them.)"""
    from scipy.ndimage import maximum_filter

    from benchmarks.accuracy import speedpp2ds_trials
    from pressure.analysis import _print_geometry, analyse

    paths = [shared_file(f"speedpp2ds/subj00{subject}.h5") for subject in range(5)]
    checked = 0
    for path in paths:
        for index, (name, recording) in enumerate(speedpp2ds_trials(path)):
            if index == 1:
                break
            where = f"{path.name}:{name}"
            _, analysis = analyse(recording)
            contact = analysis.contacts[0]
            geometry, toes = _print_geometry(contact, analysis.grid)
            assert contact.foot == "right" and toes.any(), where
            mask = automask_of_geometry(geometry, toes, PITCH, PITCH, contact.foot)
            labels = mask.labels
            peak = contact.raw.image(contact.raw.peak_kpa, analysis.grid.shape)
            toe_peak = np.where(toes, peak, 0.0)
            peaks = toes & (toe_peak == maximum_filter(toe_peak, size=3)) & (toe_peak >= 0.5 * toe_peak.max())
            rows, cols = np.nonzero(peaks)
            assert labels[rows[np.argmin(cols)], cols[np.argmin(cols)]] == R["hallux"], where
            rows, cols = np.nonzero(labels >= 0)
            u = mask.frame.to_foot(np.column_stack([cols, rows]) * PITCH)[:, 0] / mask.frame.length_mm
            front = np.zeros_like(toes)
            front[rows[u > 0.40], cols[u > 0.40]] = True
            front &= ~np.isin(labels, TOES)
            assert labels.ravel()[np.argmax(np.where(front, peak, -1).ravel())] in FOREFOOT, where
            for medial_part, lateral_part in [(R["medial_heel"], R["lateral_heel"]), (R["mth1"], R["mth4_5"]),
                                              (R["hallux"], R["lesser_toes"])]:
                if (labels == medial_part).any() and (labels == lateral_part).any():  # a few prints lack lesser toes
                    assert centroid(labels, medial_part)[0] < centroid(labels, lateral_part)[0], where
            checked += 1
    assert checked == 5
