"""Songs from a trained generator: sampling phrase by phrase, the accompaniment, the written files."""
