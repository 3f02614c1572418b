"""The model's vocabulary: scenarios and applications (what a user describes), their
ranges and AWS's limits and prices (plain data), random streams, event tables, records
and results. Imports nothing else of simlib: every other layer builds on it."""
