"""The pure half of insights: statistics and fitting on plain values (no Django, no app).

Selectors build frozen rows from the database; these functions measure them. Like the other
engines (scoring.engine, routing.engine), nothing here reads a clock or a table.
"""
