"""Credit scorecards: a declarative YAML engine, and a learned WoE scorecard exported to the same form."""
