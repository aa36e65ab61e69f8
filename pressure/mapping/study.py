"""A study's pedobarographic maps, from its session files to ``maps.h5`` and ``maps.png``: what
``pressure map`` runs, so that a lab gets the maps without writing Python.

``map_study(sources, output_folder, ...)`` reads every session (a session file, a vendor export,
a driver URL, or a study folder whose sessions are found as ``pressure process`` finds them, the
left and right insole files of one trial paired), analyses it (``pressure.analysis.analyse``),
takes its complete footprints as right feet (``footprints.footprints``), registers them to a
template (``registration.register_all``) and writes to ``output_folder``:

- ``registered.h5``: every registered footprint (step, y_mm, x_mm), with per step the session
  it came from (``source``, and ``session``: its name relative to the study folder), its
  registration quality and whether it was flagged, and the step's group, covariate and subject
  when they are given;
- ``maps.h5``: a Dataset on (y_mm, x_mm) of the steps whose registration was not flagged: the
  ``template`` and its ``outline``, ``mean_peak`` and ``sd_peak`` (kPa, over all steps); with
  two ``groups``, ``group_mean``/``group_sd`` (group, y_mm, x_mm), ``group_steps`` and Welch's
  ``welch_t`` (first group minus second), ``welch_dof``, ``welch_p``; with a ``covariate``,
  Pearson's ``r`` (pooled within subject when ``subjects`` are given), ``r_t``, ``r_p``. Each
  t and r map carries its family-wise threshold from a permutation test of the largest
  statistic over the template's outline as attributes (``fwe_threshold``, ``fwe_alpha``,
  ``fwe_p``: the family-wise p of the largest observed statistic, ``fwe_permutations``);
- ``maps.png``: those maps drawn over the template's outline, pixels beyond the thresholds
  outlined in green.

The folder is marked as an output folder (``pressure.study.STUDY_MARK``), so its ``.h5`` files
are never read back as sessions. Files are written only when everything succeeded (each first
to a hidden temporary name), so a failed run leaves no half-written maps.

Sessions that cannot be read or analysed, or that give no complete footprint (only standing, every
step cut by the mat's edge or the recording's ends, insoles), are skipped and listed in
``MapResult.skipped``, one line each. Steps whose registration is flagged (correlation, load on
the grid or scale out of range; see registration.py) stay in ``registered.h5`` and are left out
of the maps (``MapResult.flagged``).

Group and covariate tables (``read_table``) are CSV files of two columns, the session's file
and its value; how a file names a session is told in ``read_table``. In a permutation test the
steps are the exchangeable units (the covariate is permuted within subjects when they are
given), as in ``statistics.permutation_threshold``; steps of one session are not independent,
so with few sessions per group the threshold is optimistic.
"""

from __future__ import annotations

import csv
import os
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np

from drivers.url import pair_files

REGISTERED_FILE = "registered.h5"
MAPS_FILE = "maps.h5"
PICTURE_FILE = "maps.png"
TEMPLATES = ("mun104", "study")
HEADER_NAMES = {"file", "filename", "file_name", "files", "source", "sources", "path", "session", "sessions",
                "name", "recording", "trial"}
MARK_TEXT = "written by pressure map: maps, not sessions\n"
MIN_STEPS = 2  # per group, and over the whole map (a standard deviation needs two)


# -- tables -----------------------------------------------------------------------------------------
class Table(dict):
    """A two-column CSV read by ``read_table``: {file as written: value}, remembering the CSV
    (``path``) and each file's line in it (``rows``), so that a name that matches no session is
    reported with both, and its header's value column (``value_name``, "" without a header:
    e.g. ``speed``, a name for the covariate)."""

    def __init__(self, entries: Mapping[str, str] = (), path: Path | None = None,
                 rows: Mapping[str, int] | None = None, value_name: str = ""):
        super().__init__(entries)
        self.path = path
        self.rows = dict(rows or {})
        self.value_name = value_name

    def where(self, key: str) -> str:
        """'groups.csv row 4' (for a plain dict: 'the table')."""
        if self.path is None:
            return "the table"
        row = self.rows.get(key)
        return f"{self.path} row {row}" if row is not None else str(self.path)


def read_table(path: Path | str) -> dict[str, str]:
    """A two-column CSV (file, value) as {file: value}, e.g. each session's group, subject or
    covariate (walking speed, age, ...).

    The first row is a header, and skipped, when its first cell is one of ``file``, ``filename``,
    ``source``, ``path``, ``session``, ``name``, ``recording`` or ``trial`` (any case). Blank rows
    and rows whose first cell starts with ``#`` are skipped; cells are stripped of spaces. A row
    that has no file or no value, more than two cells, or a file named twice is a ValueError of
    one line naming the CSV file and the row (its line number).

    How a file names a session (``map_study`` checks this before reading any session): it is,
    with ``\\`` read as ``/`` and a leading ``./`` dropped,

    1. the source exactly as given (a path or a URL), or
    2. the session's path relative to the study folder it was found in (``sub-01/walk.h5``;
       for a pair of insole files, the pair's name without the side, ``FrasP01.asf``, or either
       file), or
    3. its file name (``walk.h5``), or that name without its extension (``walk``), when no
       other session has the same one (else the row is ambiguous: give the relative path).

    Names are compared exactly (case matters). A row that names no session, or names a session
    another row already named, is a ValueError naming the CSV file and the row; a session that
    gave footprints but has no row is a ValueError naming the CSV file and the session.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text CSV file") from None
    except csv.Error as error:
        raise ValueError(f"{path}: not a CSV file ({error})") from None
    entries: dict[str, str] = {}
    lines: dict[str, int] = {}
    seen_content = False
    value_name = ""
    for number, row in enumerate(rows, start=1):
        cells = [cell.strip() for cell in row]
        while cells and not cells[-1]:
            cells.pop()
        if not cells or cells[0].startswith("#"):
            continue
        if not seen_content:
            seen_content = True
            if cells[0].lower() in HEADER_NAMES:
                value_name = cells[1] if len(cells) > 1 else ""
                continue
        if len(cells) > 2:
            raise ValueError(f"{path} row {number}: {len(cells)} cells; a table has two columns, file and value")
        if not cells[0]:
            raise ValueError(f"{path} row {number}: no file name (value {cells[1]!r})")
        if len(cells) < 2 or not cells[1]:
            raise ValueError(f"{path} row {number}: no value for {cells[0]!r}")
        key = _normal(cells[0])
        if key in entries:
            raise ValueError(f"{path} row {number}: {cells[0]!r} is already named in row {lines[key]}")
        entries[key] = cells[1]
        lines[key] = number
    if not entries:
        raise ValueError(f"{path}: no rows (a table has two columns, file and value)")
    return Table(entries, path, lines, value_name)


def _normal(name: str) -> str:
    name = name.strip().replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def _table_name(table: Mapping, what: str) -> str:
    path = getattr(table, "path", None)
    return str(path) if path is not None else what


# -- sessions ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Session:
    """One source to map: ``source`` is what drivers.load reads; ``name`` how it is shown (its
    path relative to its study folder, or the source as given); ``aliases`` the names a table's
    row may give for it besides ``source`` and ``name`` (file names, with and without extension)."""

    source: str
    name: str
    aliases: tuple[str, ...] = ()


def _is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def _file_names(path: str) -> tuple[str, ...]:
    pure = PurePosixPath(_normal(path.split("?")[0]))
    return (pure.name, pure.stem) if pure.suffix else (pure.name,)


def expand_sources(sources: Iterable[str], output_folder: Path | None = None,
                   exclude: Iterable[Path] = ()) -> list[Session]:
    """The sessions ``sources`` name: a folder gives every session file below it (as
    ``pressure process`` finds them: output folders, results files and the files in ``exclude``
    left out; left and right insole files of one trial paired), anything else is one source.
    Each session once, in the order given."""
    from pressure.study import find_sessions, pair_insoles

    excluded = {Path(p).resolve() for p in exclude}
    found: list[Session] = []
    taken: set[str] = set()
    for given in sources:
        given = str(given)
        folder = Path(given)
        if not _is_url(given) and folder.is_dir():
            paths = [p for p in find_sessions(folder, output_folder.resolve() if output_folder else None)
                     if p.resolve() not in excluded]
            if output_folder is not None:  # find_sessions compares the output folder as given
                paths = [p for p in paths if output_folder.resolve() not in p.resolve().parents]
            if not paths:
                raise ValueError(f"{folder}: no session files found")
            for source, named in pair_insoles(paths):
                name = named.relative_to(folder).as_posix()
                aliases = list(_file_names(name))
                for part in pair_files(source):
                    aliases += [Path(part).relative_to(folder).as_posix(), *_file_names(part)]
                if source not in taken:
                    taken.add(source)
                    found.append(Session(source, name, tuple(dict.fromkeys(aliases))))
        elif given not in taken:
            taken.add(given)
            plain = given.removeprefix("file://")
            aliases = () if _is_url(given) else (_normal(plain.split("?")[0]), *_file_names(plain))
            found.append(Session(given, _normal(given), tuple(dict.fromkeys(aliases))))
    return found


def match_table(table: Mapping[str, object] | None, sessions: list[Session], what: str) -> dict[str, object]:
    """{session source: value} for the rows of ``table`` (see ``read_table`` for how a row's file
    names a session). A row naming no session, or a session already named, is a ValueError
    naming the table (its CSV file and row when it came from ``read_table``). Sessions without a
    row are simply absent from the answer."""
    return {source: table[key] for source, key in _matched_keys(table, sessions, what).items()}


def _where(table: Mapping, key: str, what: str) -> str:
    return table.where(key) if isinstance(table, Table) else what


def _matched_keys(table: Mapping[str, object] | None, sessions: list[Session], what: str) -> dict[str, str]:
    """{session source: the table's key naming it}, in the table's order."""
    if table is None:
        return {}
    exact: dict[str, Session] = {}
    by_alias: dict[str, list[Session]] = {}
    for session in sessions:
        exact[_normal(session.source)] = session
        exact.setdefault(session.name, session)
    for session in sessions:
        for alias in session.aliases:
            if alias not in exact:
                by_alias.setdefault(alias, [])
                if session not in by_alias[alias]:
                    by_alias[alias].append(session)
    matched: dict[str, str] = {}
    for key in table:
        name = _normal(str(key))
        session = exact.get(name)
        if session is None:
            candidates = by_alias.get(name, [])
            if len(candidates) > 1:
                raise ValueError(f"{_where(table, key, what)}: {key!r} names {len(candidates)} sessions "
                                 f"({', '.join(s.name for s in candidates[:3])}); give its path relative to the "
                                 f"study folder")
            if not candidates:
                shown = ", ".join(s.name for s in sessions[:3]) + (", ..." if len(sessions) > 3 else "")
                raise ValueError(f"{_where(table, key, what)}: {key!r} names no session (sessions: {shown})")
            session = candidates[0]
        if session.source in matched:
            raise ValueError(f"{_where(table, key, what)}: {key!r} names {session.name}, already named by "
                             f"{matched[session.source]!r}")
        matched[session.source] = key
    return matched


# -- the result -------------------------------------------------------------------------------------
@dataclass
class MapResult:
    """What ``map_study`` wrote and what it left out.

    ``sessions``: the sessions whose steps are in the maps (their names); ``steps``: the steps
    in the maps; ``flagged``: one line per step whose registration was flagged (left out of the
    maps, kept in registered.h5); ``skipped``: one line per session left out, ``name: reason``;
    ``thresholds``: the family-wise thresholds, {"welch_t": |t|, "r": |r|} as computed;
    ``groups``: the two groups in the order of the t map (first minus second)."""

    output_folder: Path
    registered: Path
    maps: Path
    picture: Path
    template: str
    sessions: list[str] = field(default_factory=list)
    steps: int = 0
    registered_steps: int = 0
    flagged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    thresholds: dict[str, float] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    median_correlation: float = float("nan")
    alpha: float = 0.05

    def lines(self) -> list[str]:
        """A short account for the command line."""
        out = [(f"{self.steps} steps of {len(self.sessions)} sessions registered to {self.template} "
                f"(median correlation {self.median_correlation:.3f})")]
        if "welch_t" in self.thresholds:
            out.append(f"Welch t, {self.groups[0]} - {self.groups[1]}: FWE {self.alpha:.0%} threshold |t| >= "
                       f"{self.thresholds['welch_t']:.2f}")
        if "r" in self.thresholds:
            out.append(f"correlation: FWE {self.alpha:.0%} threshold |r| >= {self.thresholds['r']:.3f}")
        out.append(f"written: {self.registered}, {self.maps}, {self.picture}")
        out += [f"flagged: {line}" for line in self.flagged]
        out += [f"skipped: {line}" for line in self.skipped]
        return out


# -- the study --------------------------------------------------------------------------------------
def _one_line(error: BaseException) -> str:
    from drivers import DriverError

    message = str(error).splitlines()[0].strip() if str(error).strip() else type(error).__name__
    if not isinstance(error, (DriverError, ValueError, OSError)):  # unexpected: say what it was
        message = traceback.format_exception_only(error)[-1].strip().splitlines()[0]
    return message


def _skip_line(session: Session, message: str) -> str:
    """'name: reason', the session named as in the tables (its path in the study folder)."""
    for prefix in sorted({session.source, session.name, *session.aliases[:1]}, key=len, reverse=True):
        if prefix and message.startswith(prefix + ":"):
            message = message[len(prefix) + 1:].lstrip()
            break
    return f"{session.name}: {message}"


def _why_no_footprint(recording, analysis) -> str:
    info = recording.info
    if info.foot_map is not None:
        return "no complete footprint: insoles give no footprint images (maps need a mat or a plate)"
    if not info.has_geometry:
        return "no complete footprint: the source has no cell positions"
    steps = [c for c in analysis.contacts if c.kind == "step"]
    if not steps:
        return f"no complete footprint: no step ({len(analysis.contacts)} standing contacts)"
    return (f"no complete footprint: all {len(steps)} steps are cut (by the mat's edge or the recording's start "
            f"or end)")


def load_template(template: str | Path, footprints=None, progress=None):
    """The template ``map_study`` registers to: ``"mun104"`` (MUN104's right foot), ``"study"``
    (built from ``footprints``, starting from MUN104 when it is found), or a path: an ``.h5``/
    ``.nc`` file with a ``template`` variable on (y_mm, x_mm) (the ``maps.h5`` of an earlier run,
    so that studies share a template), or a folder holding ``MUN104R.csv`` in MUN104's layout."""
    from pressure.mapping.template import mun104, study_template

    if str(template) == "mun104":
        try:
            return mun104("right")
        except FileNotFoundError as error:
            raise ValueError(f"{error}; give --template study or a template file") from None
    if str(template) == "study":
        if footprints is None:
            return None
        return study_template(footprints, progress=progress)
    path = Path(template)
    if path.is_dir():
        try:
            return mun104("right", folder=path)
        except FileNotFoundError:
            raise ValueError(f"{path}: no MUN104R.csv in the folder; a template is mun104, study, an .h5 file "
                             f"with a template variable, or a folder in MUN104's layout") from None
    if not path.is_file():
        raise ValueError(f"{path}: no such template file; a template is mun104, study, an .h5 file with a template "
                         f"variable, or a folder in MUN104's layout")
    import xarray as xr

    from pressure.mapping.registration import grid_of

    try:
        with xr.open_dataset(path, engine="h5netcdf") as dataset:
            if "template" in dataset:
                loaded = dataset["template"].load()
            else:
                candidates = [v for v in dataset.data_vars.values() if v.dims == ("y_mm", "x_mm")]
                if len(candidates) != 1:
                    raise ValueError(f"{path}: no template variable (y_mm, x_mm) in the file")
                loaded = candidates[0].load()
    except (OSError, KeyError) as error:
        raise ValueError(f"{path}: not a template file ({_one_line(error)})") from None
    if loaded.dims != ("y_mm", "x_mm"):
        raise ValueError(f"{path}: the template's dimensions are {loaded.dims}, not (y_mm, x_mm)")
    loaded.attrs.setdefault("side", "right")
    loaded.attrs.setdefault("source", str(path))
    if loaded.attrs["side"] not in ("left", "right"):
        raise ValueError(f"{path}: the template's side is {loaded.attrs['side']!r}")
    try:
        grid_of(loaded)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    if not np.isfinite(np.asarray(loaded, float)).all() or float(loaded.max()) <= 0:
        raise ValueError(f"{path}: the template has no positive, finite image")
    loaded.name = "template"
    return loaded


def _told(items, progress, text: str):
    """``items`` one by one, telling ``progress`` '<text> k/n' before each."""
    items = list(items)
    for k, item in enumerate(items, start=1):
        progress(f"{text} {k}/{len(items)}")
        yield item


def _write(dataset, path: Path) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        dataset.to_netcdf(temporary, engine="h5netcdf")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _check_outputs(output_folder: Path, overwrite: bool) -> None:
    from pressure.study import STUDY_MARK

    if output_folder.exists() and not output_folder.is_dir():
        raise ValueError(f"{output_folder}: is a file; give a folder for the maps")
    ours = (output_folder / STUDY_MARK).is_file()
    for name in (REGISTERED_FILE, MAPS_FILE, PICTURE_FILE):
        if (output_folder / name).exists() and not (ours or overwrite):
            raise ValueError(f"{output_folder / name}: exists and was not written by pressure map; give --overwrite "
                             f"to replace it")


def _group_counts(labels: np.ndarray, names: tuple[str, ...], what: str) -> None:
    """Each group has MIN_STEPS steps (``what`` says which: complete footprints, registered steps)."""
    for name in names:
        n = int(np.sum(labels == name))
        if n < MIN_STEPS:
            raise ValueError(f"group {name!r} has {n} {what}{'s' * (n != 1)}; Welch's t needs at least {MIN_STEPS} "
                             f"steps in each group")


def map_study(sources: list[str], output_folder: Path, *, template: str | Path = "mun104",
              groups: dict[str, str] | None = None, covariate: dict[str, float] | None = None,
              subjects: dict[str, str] | None = None, nonrigid: bool = False,
              fallbacks: dict[str, str] | None = None, progress: Callable[[str], None] | None = None,
              covariate_name: str = "covariate", permutations: int = 1000, alpha: float = 0.05, seed: int = 0,
              options=None, overwrite: bool = False) -> MapResult:
    """Pedobarographic maps of the sessions ``sources`` names (files, URLs or study folders),
    written to ``output_folder`` (see the module's docstring for what is written).

    ``template``: ``"mun104"``, ``"study"`` or a path (``load_template``). ``groups``: each
    session's group, exactly two names (the t map is the group of the first row minus the other);
    ``covariate``: each session's value (every step of a session takes it), correlated per
    pixel with peak pressure and called ``covariate_name`` (default: the CSV header's value
    column when the table came from ``read_table`` with a header, else "covariate"); ``subjects``: each session's subject, so that the correlation is
    pooled within subject (each subject's steps and values centred on the subject's means).
    Tables are dicts as ``read_table`` gives them, keyed by file names as it describes; every
    session that gives footprints needs a row in each table given. ``nonrigid`` adds the smooth
    warp to registration. ``fallbacks`` go to ``drivers.load`` (pitch, rate, scale_kpa, ...);
    ``options`` (pressure.analysis.Options) to the analysis. ``progress`` is told what is being
    done, one line at a time. ``permutations``, ``alpha`` and ``seed`` set the family-wise
    thresholds. Existing output files are replaced when the folder was written by map_study,
    else only with ``overwrite``.

    Raises ValueError (one line) for bad tables, a group with fewer than two usable steps, fewer
    than two usable steps in all, or a covariate that cannot be correlated."""
    import drivers
    from pressure.analysis import analyse
    from pressure.mapping import statistics as mstats
    from pressure.mapping.footprints import footprints as footprints_of
    from pressure.mapping.registration import register_all
    from pressure.study import STUDY_MARK

    tell = progress or (lambda text: None)
    output_folder = Path(output_folder)
    if isinstance(sources, (str, Path)):
        sources = [str(sources)]
    if not sources:
        raise ValueError("no sources given")
    if covariate_name in ("", None, "covariate"):
        covariate_name = getattr(covariate, "value_name", "") or "covariate"
    if permutations < 1:
        raise ValueError("permutations must be at least 1")
    _check_outputs(output_folder, overwrite)
    tables = {"groups": groups, "covariate": covariate, "subjects": subjects}
    table_files = [t.path for t in tables.values() if isinstance(t, Table) and t.path is not None]
    sessions = expand_sources(sources, output_folder, exclude=table_files)
    if not sessions:
        raise ValueError("no sessions found in the sources given")
    keys = {what: _matched_keys(table, sessions, what) for what, table in tables.items()}
    matched = {what: {source: tables[what][key] for source, key in keys[what].items()} for what in tables}
    if groups is not None:
        names = tuple(dict.fromkeys(str(v) for v in matched["groups"].values()))
        if len(names) != 2:
            raise ValueError(f"{_table_name(groups, 'groups')}: {len(names)} group name{'s' * (len(names) != 1)} "
                             f"({', '.join(names)}); a comparison needs exactly two")
    else:
        names = ()
    values: dict[str, float] = {}
    for source, value in matched["covariate"].items():
        try:
            values[source] = float(value)
        except (TypeError, ValueError):
            values[source] = float("nan")
        if not np.isfinite(values[source]):
            key = keys["covariate"][source]
            raise ValueError(f"{_where(covariate, key, 'covariate')}: {value!r} ({key}) is not a finite number")
    fixed_template = None if str(template) == "study" else load_template(template)

    # Every session: read, analyse, its complete footprints as right feet.
    found, used, skipped = [], [], []
    for k, session in enumerate(sessions, start=1):
        tell(f"reading {k}/{len(sessions)}: {session.name}")
        try:
            recording = drivers.load(session.source, fallbacks=fallbacks)
            _, analysis = analyse(recording, options)
            steps = footprints_of(recording, analysis, side="right")
        except Exception as error:  # noqa: BLE001 - a study goes on: the session is reported with the others
            skipped.append(_skip_line(session, _one_line(error)))
            continue
        if not steps:
            skipped.append(_skip_line(session, _why_no_footprint(recording, analysis)))
            continue
        found += [(session, replace(step, source=session.source)) for step in steps]
        used.append(session)
    if not found:
        raise ValueError(f"no complete footprint in any of the {len(sessions)} sessions"
                         + (f" ({skipped[0]}{'; ...' if len(skipped) > 1 else ''})" if skipped else ""))
    for what, table in tables.items():
        if table is None:
            continue
        for session in used:
            if session.source not in matched[what]:
                raise ValueError(f"{_table_name(table, what)}: no row for session {session.name} (rows name files by "
                                 f"their path relative to the study folder or by file name)")
    sources_of = np.array([session.source for session, _ in found], dtype=object)
    if names:
        _group_counts(np.array([matched["groups"][s] for s in sources_of], dtype=object), names, "complete footprint")

    # Register them.
    steps = [step for _, step in found]
    if fixed_template is None:
        template_image = load_template("study", steps, progress=lambda items: _told(items, tell, "study template: step"))
    else:
        template_image = fixed_template
    metadata = {"session": np.array([session.name for session, _ in found], dtype=object)}
    if names:
        metadata["group"] = np.array([str(matched["groups"][s]) for s in sources_of], dtype=object)
    if covariate is not None:
        metadata["covariate"] = np.array([values[s] for s in sources_of], float)
    if subjects is not None:
        metadata["subject"] = np.array([str(matched["subjects"][s]) for s in sources_of], dtype=object)
    registered = register_all(steps, template_image, nonrigid=nonrigid, metadata=metadata,
                              progress=lambda items: _told(items, tell, "registering step"))
    if covariate is not None:
        registered["covariate"].attrs.update(long_name=covariate_name)
    failed = np.asarray(registered["failed"], bool)
    flagged = [f"{name}, step at {start:.2f} s: {why}" for name, start, why, bad in
               zip(metadata["session"], registered["start"].values, registered["failure"].values, failed) if bad]
    for session in used:
        mine = sources_of == session.source
        if failed[mine].all():
            skipped.append(_skip_line(session, f"no footprint registered to the template "
                                               f"({registered['failure'].values[np.flatnonzero(mine)[0]]})"))
    registered.attrs.update(sessions=len(used), skipped="\n".join(skipped), flagged="\n".join(flagged),
                            software_version=_version())
    keep = np.flatnonzero(~failed)
    if len(keep) < MIN_STEPS:
        raise ValueError(f"{len(keep)} of {len(failed)} steps registered to the template; a map needs at least "
                         f"{MIN_STEPS}" + (f" ({flagged[0]})" if flagged else ""))
    kept = registered.isel(step=keep)
    images = kept["peak_pressure"]
    foot = mstats.outline(template_image)

    # Maps.
    tell("maps")
    maps = {"template": template_image.copy(),
            "outline": template_image.copy(data=foot.astype(np.int8)).rename("outline").assign_attrs(
                units="1", long_name="the template's foot: where maps are drawn and thresholds are taken"),
            "mean_peak": mstats.mean_map(images).assign_attrs(long_name="mean peak pressure over the steps"),
            "sd_peak": mstats.sd_map(images).assign_attrs(long_name="SD of peak pressure over the steps")}
    used_sessions = [s.name for s in used if (kept["source"].values == s.source).any()]
    dataset_attrs = {"steps": len(keep), "registered_steps": len(failed), "sessions": len(used_sessions),
                     "template": str(template_image.attrs.get("source", "")), "nonrigid": int(nonrigid),
                     "skipped": "\n".join(skipped), "flagged": "\n".join(flagged), "software_version": _version()}
    thresholds: dict[str, float] = {}
    if names:
        labels = kept["group"].values
        _group_counts(labels, names, "step")  # registered, not flagged
        first, second = (images.isel(step=np.flatnonzero(labels == name)) for name in names)
        welch = mstats.welch_t_map(first, second)
        tell(f"Welch t: {permutations} permutations")
        fwe = mstats.permutation_threshold(first, second=second, mask=foot, n_permutations=permutations, alpha=alpha,
                                           seed=seed)
        thresholds["welch_t"] = fwe["threshold"]
        import xarray as xr

        group_maps = [(mstats.mean_map(g), mstats.sd_map(g)) for g in (first, second)]
        maps["group_mean"] = xr.concat([m for m, _ in group_maps], dim="group").assign_coords(group=list(names))
        maps["group_mean"].attrs = {"units": "kPa", "long_name": "mean peak pressure of each group"}
        maps["group_sd"] = xr.concat([s for _, s in group_maps], dim="group").assign_coords(group=list(names))
        maps["group_sd"].attrs = {"units": "kPa", "long_name": "SD of peak pressure of each group", "ddof": 1}
        maps["group_steps"] = xr.DataArray([first.sizes["step"], second.sizes["step"]], dims="group",
                                           coords={"group": list(names)}, attrs={"long_name": "steps in each group"})
        maps["group_sessions"] = xr.DataArray(
            [len(set(kept["source"].values[labels == name])) for name in names], dims="group",
            coords={"group": list(names)}, attrs={"long_name": "sessions in each group"})
        maps["welch_t"] = welch["t"].assign_attrs(long_name=f"Welch's t, {names[0]} minus {names[1]}",
                                                  first=names[0], second=names[1], **_fwe_attrs(fwe))
        maps["welch_t"].attrs["n"] = [first.sizes["step"], second.sizes["step"]]
        maps["welch_dof"] = welch["dof"]
        maps["welch_p"] = welch["p"]
        dataset_attrs.update(groups=f"{names[0]}, {names[1]}", welch_t_fwe_threshold=fwe["threshold"])
    if covariate is not None:
        value = np.asarray([values[s] for s in kept["source"].values], float)
        within = kept["subject"].values if subjects is not None else None
        try:
            correlation = mstats.correlation_map(images, value, groups=within)
        except ValueError as error:
            raise ValueError(f"{covariate_name}: {error} ({len(value)} steps"
                             + (f", {len(np.unique(within))} subjects" if within is not None else "") + ")") from None
        tell(f"correlation: {permutations} permutations")
        fwe = mstats.permutation_threshold(images, value, groups=within, mask=foot, n_permutations=permutations,
                                           alpha=alpha, seed=seed)
        thresholds["r"] = fwe["threshold"]
        pooled = ", pooled within subject" if within is not None else ""
        maps["r"] = correlation["r"].assign_attrs(
            long_name=f"Pearson r of peak pressure with {covariate_name}{pooled}", covariate=covariate_name,
            pooled_within_subject=int(within is not None), dof=int(correlation["t"].attrs["dof"]), **_fwe_attrs(fwe))
        maps["r_t"] = correlation["t"]
        maps["r_p"] = correlation["p"]
        dataset_attrs.update(covariate=covariate_name, r_fwe_threshold=fwe["threshold"])
    import xarray as xr

    maps_dataset = xr.Dataset({name: value.drop_vars([c for c in value.coords if c not in ("y_mm", "x_mm", "group")])
                               for name, value in maps.items()}, attrs=dataset_attrs)
    maps_dataset["y_mm"].attrs.update(units="mm", long_name="along the foot, heel to toes")
    maps_dataset["x_mm"].attrs.update(units="mm", long_name="across the foot (right foot: medial at small x)")

    # Write: the picture and both files to temporary names first, then in place.
    tell("writing")
    output_folder.mkdir(parents=True, exist_ok=True)
    if not (output_folder / STUDY_MARK).exists():
        (output_folder / STUDY_MARK).write_text(MARK_TEXT)
    result = MapResult(output_folder, output_folder / REGISTERED_FILE, output_folder / MAPS_FILE,
                       output_folder / PICTURE_FILE, str(template_image.attrs.get("source", "")), used_sessions,
                       len(keep), len(failed), flagged, skipped, thresholds, names,
                       float(np.median(registered["correlation"].values)), alpha)
    _picture(maps_dataset, template_image, result, covariate_name, subjects is not None)
    _write(registered, result.registered)
    _write(maps_dataset, result.maps)
    return result


def _fwe_attrs(fwe: dict) -> dict:
    return {"fwe_threshold": fwe["threshold"], "fwe_alpha": fwe["alpha"], "fwe_p": fwe["p_fwe"],
            "fwe_observed_max": fwe["observed_max"], "fwe_permutations": fwe["n_permutations"],
            "fwe_region": "the template's outline"}


def _version() -> str:
    """The software that made a registration (maps made by another are made again)."""
    from pressure import __version__
    from pressure.schema import RESULTS_REVISION

    return f"{__version__}+results{RESULTS_REVISION}"


def _picture(maps, template, result: MapResult, covariate_name: str, pooled: bool) -> None:
    from pressure.mapping import statistics as mstats

    n = result.steps
    panels = {f"mean peak pressure (kPa)\n{n} steps": maps["mean_peak"], "SD of peak pressure (kPa)": maps["sd_peak"]}
    thresholds, limits = {}, {}
    foot = np.asarray(maps["outline"], bool)
    if "welch_t" in maps:
        means = {}
        for name in result.groups:
            title = f"{name}: mean (kPa)\n{int(maps['group_steps'].sel(group=name))} steps"
            means[title] = maps["group_mean"].sel(group=name, drop=True)
        top = max(float(np.nanmax(np.where(foot, np.asarray(m), np.nan))) for m in means.values())
        limits.update(dict.fromkeys(means, top))
        panels.update(means)
        title = (f"Welch t, {result.groups[0]} - {result.groups[1]}\n(green: FWE {maps['welch_t'].attrs['fwe_alpha']:.0%}"
                 f", |t| >= {result.thresholds['welch_t']:.2f})")
        panels[title] = maps["welch_t"]
        thresholds[title] = result.thresholds["welch_t"]
    if "r" in maps:
        title = (f"r with {covariate_name}{', within subject' if pooled else ''}\n(green: FWE "
                 f"{maps['r'].attrs['fwe_alpha']:.0%}, |r| >= {result.thresholds['r']:.2f})")
        panels[title] = maps["r"]
        thresholds[title] = result.thresholds["r"]
        limits[title] = 1.0
    regions = mstats.template_regions(template, "four")
    source = result.template.split(" (")[0]
    temporary = result.picture.with_name(f".{result.picture.name}.tmp.png")
    try:
        mstats.save_maps(panels, template, temporary, regions=regions, thresholds=thresholds, vmax=limits,
                         title=f"{n} steps of {len(result.sessions)} sessions, registered to {source}; "
                               f"dashed: four regions")
        os.replace(temporary, result.picture)
    finally:
        temporary.unlink(missing_ok=True)
