"""Units of the objective, shared by the compiled problem and the holdings-count solver."""

#: Objective = this × active variance, so it reads in (% TE)²: keeps solver tolerances meaningful.
OBJECTIVE_SCALE = 1e4
