"""The journal's commands, one module each: the pipeline (``build``, also ``journal run``),
``status``, ``show``, ``diff``, ``gc``, ``upgrade``, ``lock``, ``serve`` (and its web server,
``preview_server``), ``deploy``, ``init`` and ``new``. Each opens the journal once
(``generator.context.Journal``) and prints its own report; ``generator.cli`` reads the
command line and chooses the exit code."""
