/* par.c — MPI for the front end: one share of a sweep's grid per process.
 *
 * MPI starts only when a launcher started us: mpirun/mpiexec (Open MPI sets
 * OMPI_COMM_WORLD_SIZE) or Slurm's srun (PMIX_RANK, PMI_RANK). A plain `qsync ...` never
 * touches MPI, so the program needs no launcher. Only the main thread calls MPI
 * (MPI_THREAD_FUNNELED); waits poll with a sleep, so a rank that finished early leaves its
 * core to the ranks still computing.
 *
 * Built without MPI (QSYNC_MPI undefined: CMake found no MPI), the program is one process and
 * says so when a launcher started it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "cli.h"

static int active, rank, size = 1, local_size = 1;

static int launched(void) { return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK"); }

#ifdef QSYNC_MPI
#include <mpi.h>

void par_init(int *argc, char ***argv)
{
    if (!launched()) return;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) return;
    active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &local_size);
        MPI_Comm_free(&node);
    }
}

void par_finalize(void)
{
    if (active) MPI_Finalize();
    active = 0;
}

int par_rank(void) { return rank; }
int par_size(void) { return size; }
int par_local_size(void) { return local_size; }

/* Wait for a non-blocking collective, sleeping between tests. */
static void wait_polling(MPI_Request *req)
{
    int done = 0;
    struct timespec nap = {0, 2000000};
    while (MPI_Test(req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done) nanosleep(&nap, NULL);
}

void par_barrier(void)
{
    if (!active || size == 1) return;
    MPI_Request req;
    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    wait_polling(&req);
}

int par_max(int value)
{
    if (!active || size == 1) return value;
    int out = value;
    MPI_Request req;
    MPI_Iallreduce(&value, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &req);
    wait_polling(&req);
    return out;
}

int par_broadcast(int value)
{
    if (!active || size == 1) return value;
    MPI_Request req;
    MPI_Ibcast(&value, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
    wait_polling(&req);
    return value;
}
#else
void par_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (launched()) fprintf(stderr, "qsync: built without MPI: this process runs the whole job on its own\n");
}
void par_finalize(void) { active = 0; }
int par_rank(void) { return rank; }
int par_size(void) { return size; }
int par_local_size(void) { return local_size; }
void par_barrier(void) {}
int par_max(int value) { return value; }
int par_broadcast(int value) { return value; }
#endif
