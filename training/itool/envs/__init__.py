"""iTool environments: the code interpreter (`code`) and function calls (`function_calling`); see `base`."""
