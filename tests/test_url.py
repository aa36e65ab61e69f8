from __future__ import annotations

import numpy as np
import pytest

import drivers
from drivers import DriverError, parse_url
from drivers.url import positive


def test_plain_path_is_a_file_url():
    url = parse_url("data/walk.npy?pitch=5&rate=100")
    assert (url.scheme, url.path, url.options) == ("file", "data/walk.npy", {"pitch": "5", "rate": "100"})


def test_a_pathlib_path_is_a_file_whatever_its_name(tmp_path):
    url = parse_url(tmp_path / "odd?name.npy")
    assert (url.scheme, url.path, url.options) == ("file", str(tmp_path / "odd?name.npy"), {})
    path = tmp_path / "walk.npy"
    np.save(path, np.zeros((3, 4, 4), np.float32))
    assert drivers.load(path, fallbacks={"pitch": "5", "rate": "100"}).cells.shape == (3, 4, 4)


def test_plus_in_a_value_stays_a_plus():
    assert parse_url("sim://walking?direction=+x").options == {"direction": "+x"}


def test_serial_style_url_keeps_the_device_path():
    assert parse_url("file:///tmp/a%20b.h5").path == "/tmp/a b.h5"


def test_unknown_option_lists_the_valid_ones():
    url = parse_url("sim://standing?sed=1")
    with pytest.raises(DriverError, match=r"unknown option sed .* valid options: a=&b="):
        url.take({"a": (int, 0), "b": (int, 0)})


def test_bad_value_names_the_option():
    with pytest.raises(DriverError, match="option rate='-3'"):
        parse_url("sim://standing?rate=-3").take({"rate": (positive(float), 1.0)})


def test_malformed_option_is_refused():
    with pytest.raises(DriverError, match="malformed option"):
        parse_url("sim://standing?seed")


def test_fallbacks_fill_only_accepted_missing_options():
    url = parse_url("x.npy?rate=50")
    url = type(url)(url.scheme, url.path, url.options, url.text, {"rate": "100", "pitch": "5", "other": "1"})
    assert url.take({"rate": (float, None), "pitch": (float, None)}) == {"rate": 50.0, "pitch": 5.0}


def test_unknown_scheme_names_the_known_ones():
    with pytest.raises(DriverError, match=r"unknown scheme ftp:// .*known: sim://, file://"):
        drivers.open_url("ftp://host/x")


def test_unknown_simulation_is_refused():
    with pytest.raises(DriverError, match="sim://standing, sim://walking"):
        drivers.open_url("sim://running")


def test_pair_files_are_the_two_paths_without_the_options():
    from drivers.pair import pair_url
    from drivers.url import pair_files

    assert pair_files(pair_url("a/L.asf", "/b/R.asf") + "?scale_kpa=2") == ["a/L.asf", "/b/R.asf"]
    assert pair_files("walk.asf?scale_kpa=2") == [] and pair_files("sim://standing") == []


def test_a_pair_is_named_by_absolute_paths_with_its_options_kept(tmp_path, monkeypatch):
    from drivers.pair import pair_url
    from pressure.pipeline import absolute_source

    (tmp_path / "L.asf").write_text("")
    (tmp_path / "R.asf").write_text("")
    monkeypatch.chdir(tmp_path)
    assert absolute_source(pair_url("L.asf", "R.asf") + "?scale_kpa=2") == (
        pair_url(str(tmp_path / "L.asf"), str(tmp_path / "R.asf")) + "?scale_kpa=2")
    assert absolute_source("L.asf?scale_kpa=2") == f"{tmp_path / 'L.asf'}?scale_kpa=2"
    assert absolute_source("sim://standing?seed=1") == "sim://standing?seed=1"
