"""The bottom layer: constants, the validated config, the meter, typed user errors, atomic files."""
