"""Extract-load: the source-file contract and the loader that takes deliveries into raw."""
