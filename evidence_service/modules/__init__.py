"""Business modules beside the evidence core (``docs/modules/``).

Each module *uses* the core the way any department would: through its public HTTP API
(``evidence_service.client``), never its wings or tables. Only the top of the service
(``evidence_service.app``, ``evidence_service.cli``) imports a module, to install it.
"""
