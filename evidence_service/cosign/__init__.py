"""Co-signatures: one BLS aggregate by several departments over a statement or a batch root,
made only once every named department has approved the request.

- ``workflow.py`` — the wing's entry points: ``request_cosignature``, ``approve_cosignature``,
  ``decline_cosignature``, ``cosignature_record``, ``verify_cosignature`` (each takes the engine,
  the acting ``Actor`` and the service clock, and enforces who may see and answer), and
  ``cosignature_audience`` for the access policy;
- ``cosignatures.py`` — the signed message, the subject it names, the departments' BLS keys;
- ``documents.py`` — the public form; ``models.py`` — the tables.
"""
