"""The what-if tooling around the engine: scenario and application files, SAM /
CloudFormation templates (per pipeline and as one application), the linter, sweeps and
their runs files, and the ``simlib`` command line."""
