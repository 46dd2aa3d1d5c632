"""Joint inspection (综合查一次): departments inspect an enterprise together, once.

Built so far: the double-random draw (双随机) of ``draw/1`` (``docs/draw-format.md``) — which
enterprises are inspected and by which officers — as a pure function anyone can recompute
(:mod:`.draw`), and its verifier (:mod:`.draw_verify`, ``evidence inspection verify-draw``).
Nothing is installed into the app yet.
"""
