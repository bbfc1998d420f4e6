"""Running icpfit for a team: `python -m team.server` (`make team-server`) and
`python -m team.backup`; README: A team server on PostgreSQL."""
