"""Pictures of a results file in the way clinicians know them from the vendor tools.

The modules read in the order a picture is made:

1. ``scales``: the pressure colour scales from 0 kPa (``clinical``: the vendor tools' stepped
   rainbow in fixed kPa bands, the same on every picture; ``magma``: continuous up to the
   picture's highest pressure), the colour bar, and the feet's colours and letters.
2. ``session``: what the pictures read from a results dataset beyond its plain variables (sensor
   positions or not, the standing frames, each step's frames and COP, the complete steps).
3. ``orientation``: the mat turned so the person faces (or walks) up, toes up.
4. ``marks``: what every panel carries: bare axes, the L or R label, a COP path (black with a
   white edge, a circle where it starts, an arrowhead where it ends), a scale bar.
5. ``feet``: each foot cropped from the peak image and turned toes up, in its own panel with its
   regions and COP path; ``sway``: a standing foot's COP path magnified beside it.
6. ``insoles``: sensor sets without positions (pedar by default) drawn as their sensors: the
   pedar outlines, or a grid of labelled tiles in file order.
7. ``recording``: the recording behind a results file read again, in kPa as the analysis saw it.
8. ``steps`` -> ``heel_down`` -> ``step_grid``: walking, every step's own print from the
   recording, turned heel down, in a grid (the middle stage is a pure function of per-step peak
   images and could read a stored per-step print instead).
9. ``region_table``: peak pressure and pressure-time integral per region and foot.
10. ``text``: the title (subject, date, activity, key numbers) and the caption.
11. ``figure``: the picture put together (:func:`figure.picture_figure`) and saved
    (:func:`figure.save_picture`).
"""
