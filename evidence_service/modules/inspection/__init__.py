"""Joint inspection (综合查一次): departments inspect an enterprise together, once.

Built so far (``docs/modules/inspection.md``), pure but for :mod:`.publish`: the double-random
draw (双随机) of ``draw/1`` (``docs/draw-format.md``) — which enterprises are inspected and by
which officers — as a function anyone can recompute (:mod:`.draw`) and its verifier
(:mod:`.draw_verify`, ``evidence inspection verify-draw``); the 统一社会信用代码 check
(:mod:`.credit_code`); the enterprise directory and inspector roster as validated CSV/JSON rows
(:mod:`.directory`); the scenario library of check items by kind of place (:mod:`.scenarios`);
the risk score with its warnings (:mod:`.risk`); a draw planned from the directory
(:mod:`.plan`) and run through the core's anchors and chain (:mod:`.publish`). Nothing is
installed into the app yet: no tables, routes or pages.
"""
