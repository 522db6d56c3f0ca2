"""Scale-out of the tracker runtime on a distributed engine (Ray) (to come)."""
