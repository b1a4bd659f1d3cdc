/* qsync/qsync.h — everything public of the qsync library. */
#ifndef QSYNC_QSYNC_H
#define QSYNC_QSYNC_H

#define QSYNC_VERSION "0.1.0"

#include "qsync/error.h"
#include "qsync/model.h"
#include "qsync/truncation.h"
#include "qsync/state.h"
#include "qsync/observables.h"
#include "qsync/spectrum.h"
#include "qsync/steady.h"
#include "qsync/convergence.h"
#include "qsync/analysis.h"
#include "qsync/evolve.h"
#include "qsync/perturb.h"
#include "qsync/sweep.h"
#include "qsync/figure.h"
#include "qsync/classical.h"

#endif
