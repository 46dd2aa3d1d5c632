"""What every business module needs of the same kind and has nothing of the core in it: its own
engine on the shared database (:mod:`.db`) and its own Alembic chain, created at head on an empty
database and refused when behind (:mod:`.schema`); problem answers (:mod:`.problems`), who calls
(:mod:`.caller`) and page plumbing (:mod:`.pages`); CSV/JSON uploads read row by row with every
error collected (:mod:`.rows`); the 统一社会信用代码 check (:mod:`.credit_code`).

The kit imports no module and nothing of the core but the libraries; modules import it instead
of copying it. (A module still reaches the core only through its HTTP API, and modules do not
import each other.)
"""
