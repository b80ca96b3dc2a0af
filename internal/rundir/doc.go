// Package rundir owns the safety rules of a run directory (RUN/) that
// every writer shares:
//
//   - Lock: an advisory flock(2) on RUN/.gotrap.lock, held by a writer
//     (run, report) for as long as it writes. A second writer fails at once
//     with an error (ErrLocked) naming the holder's pid, host and command.
//     The kernel releases the lock when its holder dies, so a lock file
//     left by a killed process is stale: the next writer takes it and is
//     told (Lock.Stale) who held it.
//   - Create / WriteFile: a file appears under its final name complete or
//     not at all. It is written under a temporary name unique to the call
//     (".NAME.<random>.tmp" in the same folder, os.CreateTemp), synced, and
//     renamed; the folder is synced after the rename.
//   - IsTemp and RemoveTemps: the temporary files of killed writers are
//     recognised by that pattern and only those are removed.
//   - Marker files (MarkDir, Marked): a folder gotrap created and may
//     replace holds a marker naming the files gotrap wrote there.
//
// The package imports nothing of gotrap's, so every writer can use it.
// The run-directory package of the "one pass per timestep" issue is to take
// over the paths of RUN/ and the manifest on top of it.
package rundir
