"""Types every part shares: schemas, plot and track batches, sensors, geodesy, errors."""
