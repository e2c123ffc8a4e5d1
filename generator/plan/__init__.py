"""Planning: which runs the posts ask for, their keys, and whether the store holds a result
each may use. ``model`` (Run, Plan), ``validate`` (values against their types),
``keys`` (what a key hashes), ``planner`` (front matter -> runs), ``freshness`` (state)."""
