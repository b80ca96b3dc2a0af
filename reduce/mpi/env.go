package mpi

// Launched reports whether this process was started by an MPI launcher
// (Open MPI's mpirun, or srun with PMIx or PMI-2), judged from the
// variables the launchers set. The command uses it to choose between the
// MPI engine and the in-process one; getenv is os.Getenv there.
func Launched(getenv func(string) string) bool {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"} {
		if getenv(k) != "" {
			return true
		}
	}
	return false
}
