"""Reading the journal's inputs: posts, configuration, the experiment lock, the experiments'
code and notebooks. Nothing here runs anything or writes anything."""
