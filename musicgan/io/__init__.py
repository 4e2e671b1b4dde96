"""Files in and out: MIDI (the only place that touches the MIDI libraries), audio, pictures, the audition page."""
