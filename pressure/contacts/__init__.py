"""Foot contacts found in space and time, and everything decided per contact.

The modules read in the order the data flows:

1. ``tracking``: cells loaded together over a stretch of time (per-cell runs with hysteresis,
   linked between neighbouring cells) become raw contacts; it reads a session chunk by chunk.
2. ``fragments``: raw contacts that are pieces of one foot (a heel island cut off by a high arch,
   a row of toes; how far apart, and how big a foot is: ``sizes``) join their foot; two feet
   touching side by side are split; hands, knees and specks stay apart. Where two feet stand
   close, ``pairing`` shares their pieces between two feet at once, the most alike pair winning.
3. ``orientation``: each foot contact's direction (heel to toe, from the order in which it
   loaded, else from its shape) and side (from the line of progression, else from its shape).
4. ``insoles``: contacts of an in-shoe insole, found on its force curve.
5. ``session``: per contact, a walking step or standing, complete or cut; per session, what the
   person did and which way.
6. ``standing``: the frames in which the person stood, and which of them were quiet standing
   (away from walking), where standing is measured.
"""
