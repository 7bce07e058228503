"""Pictures of runs (matplotlib, Agg backend): one function per picture, arrays and a path in."""
