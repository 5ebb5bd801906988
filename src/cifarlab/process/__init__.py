"""Settings that belong to the whole process (threads, global seeds, glibc's memory reuse,
signals, imports warmed in the background), set for a run's length and given back after it."""
