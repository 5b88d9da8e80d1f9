"""One router per area: records in, subjects read, real names checked, measures, public."""
