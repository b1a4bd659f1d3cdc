/* observables.c — the table of named observables (see qsync/observables.h). */
