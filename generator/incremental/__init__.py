"""Doing less when less changed: the record of the last build that lets an unchanged
journal skip straight to the site engine (``manifest``), and the memory a long-lived
process (``journal serve``) keeps of what it planned and checked (``memo``)."""
