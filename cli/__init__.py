"""The operator's command `macsec-rotation`: start a rotation and follow it, re-run a failed one, show each
target against its secret, list recent rotations; against AWS, or against the embedded AWS (`--local`).

Installed into the project's virtualenv by `make dev` (an editable install, console script in
`[project.scripts]`); `python -m cli` runs the same command.
"""
