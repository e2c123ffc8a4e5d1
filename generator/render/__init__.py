"""Rendering: post bodies with references -> Markdown pages, and the pages built from
every post (the home page's weeks, Progress, published notebooks).

``check`` validates every reference before anything runs; ``page`` renders posts
(each reference by its kind in ``kinds``); ``provenance``, ``home``, ``progress_page`` and
``notebooks`` make the other generated pages; ``write`` puts them into ``docs/``;
``charts`` draws charts from stored series; ``lint`` finds numbers typed by hand.
"""
